// A database file as fixed-size pages in memory, in two layers, plus the set of pages written since the last
// commit. The `base` holds pages as the authority (the coordinator) committed them; the `overlay` holds what
// the file's user (SQLite, through the VFS) wrote on top since the last discard or fold. Everything reads the
// visible file: the overlay over the base. A client keeps its unconfirmed commits in the overlay and drops
// them to rebase; an authority folds the overlay into the base at each commit.
//
// Invariants:
// 1. The visible file is exactly `pageCount * PAGE_SIZE` bytes; pgno runs from 1 to pageCount. A visible
//    page comes from the overlay if it holds one, else from the base unless the overlay cut the file below
//    that page since it started (a hole). A page within the file that holds nothing reads as zeros
//    (`read` returns undefined for it). The base holds no page beyond its own page count.
// 2. A stored page is never mutated in place: a write stores a copy (or an array its caller gives up:
//    `adopt`) and replaces the old array, so an array handed out by `read` stays valid (and must be
//    treated as read-only by the caller).
// 3. `write` and `truncate` (the file's user) change only the overlay. The base changes only through
//    `applyFrame` (pages committed elsewhere) and `foldOverlay` (the overlay is committed), so discarding the
//    overlay always lands on committed pages.
// 4. `applyFrame` is refused under a non-empty overlay: an overlay written over an older base, laid over a
//    newer one, would be a mix of two histories.
// 5. `generation` advances exactly when the visible file changes beneath its user (`discardOverlay` of a
//    non-empty overlay, `applyFrame`); `foldOverlay` leaves the visible file, and so `generation`, alone.
//    Both changes are refused while the user holds a lock (`lock` … `unlock`, i.e. a transaction is open):
//    SQLite re-validates its page cache only when a transaction starts.
// 6. The dirty set holds the pages written through `write` since the last `clearDirty` or `discardOverlay`;
//    it never holds a pgno beyond pageCount. `applyFrame` and `foldOverlay` do not touch it.
// 7. The base knows the lsn of the next frame it may take (`nextFrameLsn`) when its history is known: 0
//    for a new store, `frameCount` after `resetBase` or an image applied as a frame, lsn + 1 after the
//    frame with that lsn (applied, or folded from the overlay). A frame whose lsn is not the next one is
//    refused (`frame-out-of-order`): a gap or a duplicate would leave the base on no authority state.
//    A frame with neither lsn nor frame count (pages from elsewhere, or emptying the base) leaves the
//    history unknown, and the next frame with an lsn is taken whatever its lsn.
// 8. Every change of the visible file is told to each watcher (`watch`) before the call making it returns:
//    the pgno of every page whose visible bytes may differ now (written; cut off by a truncation or a
//    smaller frame; installed by a frame; reverted or revealed by a discard). A page told may still hold
//    the same bytes; a page not told holds the same array as before (with invariant 2: the same bytes).
// 9. An array the store reuses for another page's bytes is one nobody outside it holds: an overlay array
//    it dropped (overwritten, truncated, discarded) that was never handed out by `read` or `pages`, and
//    if lent to a commit's frame (`framePages`), given back by `release` before anyone read it. `peek`
//    lends an array for an immediate copy only. Why: a fresh 4 KB array per written page cost ~25% of a
//    rebase in Chromium here (new memory for every page SQLite writes); reused ones are warm.
import type { FramePage } from '../frame.js';
import { sha256Hex } from '../sha256.js';

export const PAGE_SIZE = 4096;
/** A hole of the file, as `hash` reads it. */
const ZERO_PAGE = new Uint8Array(PAGE_SIZE);
/** Dropped arrays kept for reuse (invariant 9), at most: 4 MB. */
const MAX_SPARE_PAGES = 1024;

/** Which file to look at: what the file's user sees (overlay over base), or the committed base alone. */
export type Layer = 'visible' | 'base';

export type PageStoreErrorKind =
  /** The file's user holds a lock (a transaction is open): its pages must not change beneath it now. */
  | 'in-transaction'
  /** The base can change only under an empty overlay: discard (or fold) the overlay first. */
  | 'overlay-not-empty'
  /** A frame's lsn is not the one the base takes next (`expectedLsn`): a gap or a duplicate. */
  | 'frame-out-of-order';

export class PageStoreError extends Error {
  override readonly name = 'PageStoreError';
  readonly kind: PageStoreErrorKind;
  /** For `frame-out-of-order`: the lsn the base takes next, and the frame's. */
  readonly expectedLsn: number | undefined;
  readonly lsn: number | undefined;

  constructor(kind: PageStoreErrorKind, message: string, lsns?: { expectedLsn: number; lsn: number }) {
    super(message);
    this.kind = kind;
    this.expectedLsn = lsns?.expectedLsn;
    this.lsn = lsns?.lsn;
  }
}

/** Committed pages to install in the base: a frame (with its lsn) or an image (with its frame count). */
export interface BaseUpdate {
  readonly pageCount: number;
  readonly pages: readonly FramePage[];
  readonly lsn?: number;
  readonly frameCount?: number;
}

/** Hears the pgno of a visible page that may hold other bytes now (invariant 8). */
export type PageWatcher = (pgno: number) => void;

export class PageStore {
  readonly #watchers: PageWatcher[] = [];
  readonly #base = new Map<number, Uint8Array>();
  #basePageCount = 0;
  readonly #overlay = new Map<number, Uint8Array>();
  /** The visible page count once the overlay has written or truncated; the base's until then. */
  #overlayPageCount: number | undefined;
  /** The smallest page count the overlay truncated to: base pages above it are no longer visible. */
  #cut: number | undefined;
  readonly #dirty = new Set<number>();
  /** Overlay arrays no caller was handed, or only a frame that may give them back (invariant 9). */
  readonly #owned = new WeakMap<Uint8Array, 'unseen' | 'lent'>();
  /** Arrays nobody holds, for the next writes (invariant 9). */
  readonly #spare: Uint8Array[] = [];
  #generation = 0;
  #locked = false;
  /** The lsn of the next frame the base takes; undefined when its history is unknown (invariant 7). */
  #nextFrameLsn: number | undefined;

  /** `nextFrameLsn`: how many authority frames the base already holds (0 for a new store). */
  constructor(options: { readonly nextFrameLsn?: number } = {}) {
    this.#nextFrameLsn = checkLsn(options.nextFrameLsn ?? 0);
  }

  /** The lsn of the next frame the base takes, or undefined when unknown (invariant 7). */
  get nextFrameLsn(): number | undefined {
    return this.#nextFrameLsn;
  }

  get pageCount(): number {
    return this.#overlayPageCount ?? this.#basePageCount;
  }

  get basePageCount(): number {
    return this.#basePageCount;
  }

  /** True when the overlay holds anything, even a change of size alone. */
  get hasOverlay(): boolean {
    return this.#overlayPageCount !== undefined;
  }

  /** Advances each time the visible file changes beneath its user (see invariant 5). */
  get generation(): number {
    return this.#generation;
  }

  read(pgno: number): Uint8Array | undefined {
    const page = this.peek(pgno);
    if (page !== undefined) this.#owned.delete(page);
    return page;
  }

  /**
   * `read` for a caller that copies the bytes before its next call on the store and keeps no reference
   * (the VFS): the array may hold another page's bytes later (invariant 9).
   */
  peek(pgno: number): Uint8Array | undefined {
    if (pgno > this.pageCount) return undefined;
    return (
      this.#overlay.get(pgno) ??
      (this.#cut !== undefined && pgno > this.#cut ? undefined : this.#base.get(pgno))
    );
  }

  /**
   * The pages written since the last `clearDirty` or `discardOverlay` with their own arrays, for a commit's
   * frame: lent, and reusable again once given back by `release` (invariant 9).
   */
  framePages(): FramePage[] {
    const pages: FramePage[] = [];
    for (const pgno of this.dirtyPages()) {
      const data = this.peek(pgno);
      if (data === undefined) continue;
      if (this.#owned.get(data) === 'unseen') this.#owned.set(data, 'lent');
      else this.#owned.delete(data);
      pages.push({ pgno, data });
    }
    return pages;
  }

  /** Gives back a frame's pages (`framePages`) that nobody kept (invariant 9). */
  release(pages: readonly FramePage[]): void {
    for (const { data } of pages) if (this.#owned.get(data) === 'lent') this.#owned.set(data, 'unseen');
  }

  /** The committed page at `pgno` (the base alone), or undefined when the base holds none. */
  readBase(pgno: number): Uint8Array | undefined {
    return this.#base.get(pgno);
  }

  write(pgno: number, bytes: Uint8Array): void {
    checkPage(pgno, bytes);
    this.#put(pgno, this.#copy(bytes));
  }

  /**
   * `write` of an array the caller gives up (never touches it again, nor does anyone else): stored as
   * is, not copied. For many pages at once, cut from one array: one allocation instead of one per page.
   */
  adopt(pgno: number, bytes: Uint8Array): void {
    checkPage(pgno, bytes);
    this.#put(pgno, bytes);
  }

  #put(pgno: number, page: Uint8Array): void {
    this.#overlayPageCount = Math.max(this.pageCount, pgno);
    const old = this.#overlay.get(pgno);
    this.#overlay.set(pgno, page);
    this.#owned.set(page, 'unseen');
    if (old !== undefined) this.#drop(old);
    this.#dirty.add(pgno);
    this.#told(pgno);
  }

  truncate(pageCount: number): void {
    checkCount(pageCount);
    if (pageCount < this.pageCount) {
      for (let pgno = pageCount + 1; pgno <= this.pageCount; pgno++) this.#told(pgno);
      for (const [pgno, page] of this.#overlay) {
        if (pgno <= pageCount) continue;
        this.#overlay.delete(pgno);
        this.#drop(page);
      }
      for (const pgno of this.#dirty) if (pgno > pageCount) this.#dirty.delete(pgno);
      this.#cut = Math.min(this.#cut ?? pageCount, pageCount);
    }
    if (pageCount !== this.pageCount) this.#overlayPageCount = pageCount;
  }

  /** The pages holding bytes in pgno order (holes, which read as zeros, are skipped). */
  *pages(layer: Layer = 'visible'): IterableIterator<FramePage> {
    const count = layer === 'base' ? this.#basePageCount : this.pageCount;
    const read =
      layer === 'base' ? (pgno: number) => this.#base.get(pgno) : (pgno: number) => this.read(pgno);
    const pgnos = new Set(this.#base.keys());
    if (layer === 'visible') for (const pgno of this.#overlay.keys()) pgnos.add(pgno);
    for (const pgno of [...pgnos].sort((a, b) => a - b)) {
      const data = pgno <= count ? read(pgno) : undefined;
      if (data !== undefined) yield { pgno, data };
    }
  }

  /** The committed pages alone, as checkpoints and snapshots take them. */
  base(): { readonly pageCount: number; pages(): IterableIterator<FramePage> } {
    return { pageCount: this.basePageCount, pages: () => this.pages('base') };
  }

  /**
   * Installs committed pages in the base (the file's user sees them at its next transaction). A frame
   * with an lsn must be the next one (invariant 7). With `handOver`, the frame's arrays are stored as
   * they are, not copied: the caller gives them up, and nobody may change them from now on (invariant 2).
   */
  applyFrame(frame: BaseUpdate, handOver = false): void {
    checkCount(frame.pageCount);
    if (frame.frameCount !== undefined) checkLsn(frame.frameCount);
    for (const page of frame.pages) {
      checkPage(page.pgno, page.data);
      if (page.pgno > frame.pageCount) {
        throw new RangeError(`frame page ${page.pgno} lies beyond its page count ${frame.pageCount}`);
      }
    }
    this.#assertUnlocked('apply a frame');
    if (this.hasOverlay) {
      throw new PageStoreError('overlay-not-empty', 'cannot apply a frame beneath a non-empty overlay');
    }
    if (frame.lsn !== undefined) {
      checkLsn(frame.lsn);
      const expectedLsn = this.#nextFrameLsn;
      if (expectedLsn !== undefined && frame.lsn !== expectedLsn) {
        throw new PageStoreError(
          'frame-out-of-order',
          `frame ${frame.lsn} cannot be applied: the base takes frame ${expectedLsn} next`,
          { expectedLsn, lsn: frame.lsn },
        );
      }
    }
    // The base holds no page beyond its page count: a frame that does not shrink it cuts nothing.
    if (frame.pageCount < this.#basePageCount) {
      for (const pgno of this.#base.keys()) {
        if (pgno <= frame.pageCount) continue;
        this.#base.delete(pgno);
        this.#told(pgno);
      }
    }
    for (const page of frame.pages) {
      this.#base.set(page.pgno, handOver ? page.data : this.#copy(page.data));
      this.#told(page.pgno);
    }
    this.#basePageCount = frame.pageCount;
    this.#generation++;
    if (frame.lsn !== undefined) this.#nextFrameLsn = frame.lsn + 1;
    else if (frame.frameCount !== undefined) this.#nextFrameLsn = frame.frameCount;
    else this.#nextFrameLsn = undefined;
  }

  /**
   * Replaces the base with `image`, the state after its first `frameCount` frames: the next frame
   * the base takes is `frameCount` (invariant 7).
   */
  resetBase(image: {
    readonly frameCount: number;
    readonly pageCount: number;
    readonly pages: readonly FramePage[];
  }): void {
    this.applyFrame({ pageCount: 0, pages: [] });
    this.applyFrame({ pageCount: image.pageCount, pages: image.pages, frameCount: image.frameCount });
  }

  /** Drops every page written since the last discard or fold: the visible file is the base again. */
  discardOverlay(): void {
    this.#assertUnlocked('discard the overlay');
    this.#dirty.clear();
    if (!this.hasOverlay) return;
    for (const pgno of this.#overlay.keys()) this.#told(pgno);
    if (this.#cut !== undefined) for (const pgno of this.#base.keys()) if (pgno > this.#cut) this.#told(pgno);
    for (const page of this.#overlay.values()) this.#drop(page);
    this.#clearOverlay();
    this.#generation++;
  }

  /**
   * Makes the overlay part of the base; the visible file does not change. `lsn` is the frame the
   * overlay was committed as, when it is one (invariant 7); without it the base's history is unknown.
   */
  foldOverlay(lsn?: number): void {
    if (lsn !== undefined) checkLsn(lsn);
    this.#nextFrameLsn = lsn === undefined ? undefined : lsn + 1;
    const pageCount = this.pageCount;
    const keepBelow = Math.min(this.#cut ?? pageCount, pageCount);
    for (const pgno of this.#base.keys()) if (pgno > keepBelow) this.#base.delete(pgno);
    for (const [pgno, data] of this.#overlay) {
      this.#base.set(pgno, data);
      this.#owned.delete(data);
    }
    this.#basePageCount = pageCount;
    this.#clearOverlay();
  }

  /** Tells `watcher` of every change of the visible file from now on (invariant 8); returns the unwatch. */
  watch(watcher: PageWatcher): () => void {
    this.#watchers.push(watcher);
    return () => {
      const at = this.#watchers.indexOf(watcher);
      if (at >= 0) this.#watchers.splice(at, 1);
    };
  }

  /** The pages written since the last `clearDirty` or `discardOverlay`, in pgno order. */
  dirtyPages(): number[] {
    return [...this.#dirty].sort((a, b) => a - b);
  }

  clearDirty(): void {
    this.#dirty.clear();
  }

  /** Taken by the file's user while it holds a lock on the file (a transaction is open). */
  lock(): void {
    this.#locked = true;
  }

  unlock(): void {
    this.#locked = false;
  }

  snapshotBytes(layer: Layer = 'visible'): Uint8Array<ArrayBuffer> {
    const count = layer === 'base' ? this.#basePageCount : this.pageCount;
    const bytes = new Uint8Array(count * PAGE_SIZE);
    for (let pgno = 1; pgno <= count; pgno++) {
      const data = layer === 'base' ? this.#base.get(pgno) : this.peek(pgno);
      if (data !== undefined) bytes.set(data, (pgno - 1) * PAGE_SIZE);
    }
    return bytes;
  }

  /** Hex SHA-256 of the file's bytes (holes as zeros): equal hashes mean identical files. */
  hash(layer: Layer = 'visible'): Promise<string> {
    const count = layer === 'base' ? this.#basePageCount : this.pageCount;
    const pages: Uint8Array[] = [];
    for (let pgno = 1; pgno <= count; pgno++) {
      pages.push((layer === 'base' ? this.#base.get(pgno) : this.peek(pgno)) ?? ZERO_PAGE);
    }
    return sha256Hex(pages);
  }

  /** A copy of `bytes` in an array nobody holds. */
  #copy(bytes: Uint8Array): Uint8Array {
    const spare = this.#spare.pop();
    if (spare === undefined) return bytes.slice();
    spare.set(bytes);
    return spare;
  }

  /** An overlay array the overlay no longer holds: kept for reuse if nobody was handed it (invariant 9). */
  #drop(page: Uint8Array): void {
    if (this.#owned.get(page) === 'unseen' && this.#spare.length < MAX_SPARE_PAGES) {
      this.#owned.delete(page);
      this.#spare.push(page);
    }
  }

  #told(pgno: number): void {
    for (const watcher of this.#watchers) watcher(pgno);
  }

  #clearOverlay(): void {
    this.#overlay.clear();
    this.#overlayPageCount = undefined;
    this.#cut = undefined;
  }

  #assertUnlocked(action: string): void {
    if (this.#locked) {
      throw new PageStoreError('in-transaction', `cannot ${action} while a transaction holds the file`);
    }
  }
}

function checkPage(pgno: number, bytes: Uint8Array): void {
  if (!Number.isSafeInteger(pgno) || pgno < 1) throw new RangeError(`invalid page number ${pgno}`);
  if (bytes.length !== PAGE_SIZE)
    throw new RangeError(`page ${pgno} has ${bytes.length} bytes, not ${PAGE_SIZE}`);
}

function checkLsn(lsn: number): number {
  if (!Number.isSafeInteger(lsn) || lsn < 0) throw new RangeError(`invalid lsn ${lsn}`);
  return lsn;
}

function checkCount(pageCount: number): void {
  if (!Number.isSafeInteger(pageCount) || pageCount < 0)
    throw new RangeError(`invalid page count ${pageCount}`);
}
