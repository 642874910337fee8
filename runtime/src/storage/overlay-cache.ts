// The overlay of a client's pending mutations, kept beside its timeline so that opening does not reduce
// the whole timeline again: an open that finds it installs its pages and reduces only the mutations
// after the last one it covers. It is a cache, never a record: the timeline still holds every pending
// mutation until the coordinator took it, and a missing, torn or mismatched overlay only costs a replay.
//
// A file `overlay.<seq>.00000000.img` holds one overlay, as records: `overlayHeader` (JSON: what it was
// made from), `overlayPages`*, `overlayEnd` (how many pages). Invariants:
// 1. An overlay's pages are, by determinism, a function of its inputs alone: the reducer (prepared
//    SHA-256), the rules replicas agree on pages under (PROTOCOL_VERSION and this format), the base pages
//    (SHA-256 of the base file, beside its journal id and cursor), and the pending mutations it covers
//    (lsns from the one after the base's applied marker, consecutive, and a SHA-256 of their timeline
//    records as the timeline stores them: at open, one digest over the bytes read, no envelope decoded),
//    reduced in lsn order after the schema migration. Its header records all of them, and it is
//    installed only when every one equals what the opening document has: then its pages are what a
//    replay would give (the same mutations over the same pages give the same pages, however batched).
// 2. It is written only from a document at rest between two calls (no transaction open, nothing
//    queued inside the replica), so pages, pending list and verdicts belong to one state.
// 3. Installed pages are checked against the visible file's hash the header records, so a damaged page
//    is never installed (that check, not the page records' CRCs, which are not checked: record.ts
//    invariant 3); a file without its end record (torn) is never read (the header and end records are
//    CRC-checked); any failure to read, decode or check is a miss (replay), and a failure to write leaves
//    the timeline as it was.
// 4. The pages are installed before SQLite reads the store (Replica.open), so SQLite never holds a
//    cached page of another state; a mismatch found later (the timeline) discards them through the
//    replica, which makes SQLite read everything again.

import type { FramePage } from '../frame.js';
import { PROTOCOL_VERSION } from '../protocol/version.js';
import type { MutationEnvelope } from '../reducer/host.js';
import { sha256Hex } from '../sha256.js';
import { encodeMutation } from '../timeline-codec.js';
import { PAGE_SIZE, type PageStore } from '../vfs/page-store.js';
import type { ByteStore } from './byte-store.js';
import { formatFileName, parseFileName } from './file-names.js';
import { encodeRecord, RECORD_OVERHEAD, RECORD_TAIL, RecordType, scanRecords } from './record.js';
import { type DigestedRun, encodeEntry, type RecoveredLog } from './segment-log.js';

/** 2: the pending digest is over the timeline's records (1: over lsn, timestamp and payload). */
const FORMAT = 2;
const KIND = 'overlay';
const PAGES_PER_RECORD = 64;
/** The end record, the file's last: its page count and the record's framing. */
const END_RECORD_BYTES = RECORD_OVERHEAD + 4;

/** What `migrate` did when the document was opened over this base (local-document.ts MigrationReport). */
export interface OverlayMigration {
  readonly fromVersion: number;
  readonly toVersion: number;
  readonly migrated: boolean;
}

/** What an overlay was made from (invariant 1), as its header records it. */
export interface OverlayHeader {
  readonly format: number;
  readonly protocol: number;
  readonly timelineId: string;
  readonly reducer: string;
  readonly base: { readonly journalId: string | null; readonly cursor: number; readonly hash: string };
  /** The base's applied marker for this timeline (-1 for none): the pending start after it. */
  readonly appliedLsn: number;
  readonly migration: OverlayMigration;
  /** The pending mutations reduced into it: `count` from `fromLsn` on, and their digest. */
  readonly pending: { readonly fromLsn: number; readonly count: number; readonly digest: string };
  /** The local reducer's rejections among them. */
  readonly rejections: readonly (readonly [number, string])[];
  /** The visible file: its page count, the page under which the base stays visible, and its hash. */
  readonly visible: { readonly pageCount: number; readonly cut: number | null; readonly hash: string };
}

/** A document's state at rest, from which an overlay is saved (invariant 2). */
export interface OverlaySource {
  readonly store: PageStore;
  readonly base: { readonly journalId: string | null; readonly cursor: number };
  readonly appliedLsn: number;
  readonly migration: OverlayMigration;
  /** Every pending mutation, in lsn order: all of them are in the overlay. */
  readonly pending: readonly MutationEnvelope[];
  readonly rejections: ReadonlyMap<number, string>;
}

/** What a document saves its overlay through; the opener adds the migration its base needs. */
export interface OverlayKeeper {
  /** Takes `source` at once (invariant 2), then writes it. */
  save(source: Omit<OverlaySource, 'migration'>): Promise<void>;
  clear(): Promise<void>;
}

/** An overlay installed at open, until the timeline confirms it covers the pending mutations. */
export interface RestoredOverlay {
  readonly header: OverlayHeader;
}

/**
 * The newest overlay file, read before the timeline so that recovery can check the pending mutations it
 * covers by their digest (segment-log.ts invariant 5); `restore` takes it instead of reading it again.
 */
export interface OverlayRead {
  readonly name: string;
  readonly bytes: Uint8Array;
  /** What its header says it covers; undefined when the header is unreadable. */
  readonly pending: DigestedRun | undefined;
}

/** Reads the newest overlay file among `files` (the store's listing at open), if there is one. */
export async function readOverlay(
  store: ByteStore,
  files: readonly string[],
): Promise<OverlayRead | undefined> {
  const name = newest(files.filter((file) => parseFileName(file)?.kind === KIND));
  if (name === undefined) return undefined;
  const bytes = (await store.read(name)) ?? new Uint8Array(0);
  let header: OverlayHeader | undefined;
  // The header record alone, CRC-checked: the rest is read if the overlay is restored.
  scanRecords(bytes, (type, start, end) => {
    if (type === RecordType.overlayHeader)
      header = parseHeader(new TextDecoder().decode(bytes.subarray(start, end)));
    return false;
  });
  return { name, bytes, pending: header?.pending };
}

function newest(files: readonly string[]): string | undefined {
  return [...files].sort((a, b) => parseFileName(b)!.lsn - parseFileName(a)!.lsn)[0];
}

/** The overlay files of one document: reads them at open, writes them as the document goes. */
export class OverlayCache {
  readonly #store: ByteStore;
  #identity: { readonly timelineId: string; readonly reducer: string };
  /** The overlay files this cache knows of (from the open's listing and its own writes). */
  #files: string[];
  #seq: number;

  /** `files`: the store's listing at open. */
  constructor(
    store: ByteStore,
    files: readonly string[],
    identity: { readonly timelineId: string; readonly reducer: string },
  ) {
    this.#store = store;
    this.#identity = identity;
    this.#files = files.filter((file) => parseFileName(file)?.kind === KIND);
    this.#seq = Math.max(0, ...this.#files.map((file) => parseFileName(file)!.lsn));
  }

  /** The document runs reducer `sha256` from now on (an upgrade): what is saved next is made by it. */
  useReducer(sha256: string): void {
    this.#identity = { ...this.#identity, reducer: sha256 };
  }

  /** True when there is a file to read: without one, opening need not look. */
  get present(): boolean {
    return this.#files.length > 0;
  }

  /**
   * Installs the newest whole overlay into `store` (the base as recovered, which nothing has read yet)
   * if it was made from this reducer and this base, and its pages hash as its header says; undefined
   * (and `store` untouched) otherwise. The caller still checks the pending mutations (`covers`).
   */
  async restore(
    store: PageStore,
    base: { readonly journalId: string | null; readonly cursor: number },
    early?: OverlayRead,
  ): Promise<RestoredOverlay | undefined> {
    const name = newest(this.#files);
    if (name === undefined || store.hasOverlay) return undefined;
    try {
      const bytes = early?.name === name ? early.bytes : await this.#store.read(name);
      const read = decodeOverlay(bytes ?? new Uint8Array(0));
      if (read === undefined) return undefined;
      const { header, pages } = read;
      const fits =
        header.format === FORMAT &&
        header.protocol === PROTOCOL_VERSION &&
        header.timelineId === this.#identity.timelineId &&
        header.reducer === this.#identity.reducer &&
        header.base.journalId === base.journalId &&
        header.base.cursor === base.cursor &&
        header.visible.pageCount >= 0;
      if (!fits || (await store.hash('base')) !== header.base.hash) return undefined;
      install(store, header.visible, pages);
      if ((await store.hash()) !== header.visible.hash) {
        store.discardOverlay();
        return undefined;
      }
      return { header };
    } catch {
      if (store.hasOverlay) store.discardOverlay();
      return undefined;
    }
  }

  /**
   * Writes the overlay of `source` as a new file, then deletes the older ones. The state is taken at
   * once (invariant 2), before the first await.
   */
  async save(source: OverlaySource): Promise<void> {
    const { store, pending, base, appliedLsn, migration } = source;
    const fromLsn = pending[0]?.lsn ?? appliedLsn + 1;
    const count = pending.length;
    const visible = captureOverlay(store);
    const visibleHash = store.hash();
    const baseHash = store.hash('base');
    const digest = sha256Hex(pending.map((m) => encodeEntry(m.lsn, encodeMutation(m), RecordType.mutation)));
    const rejections = pending.flatMap((m) => {
      const reason = source.rejections.get(m.lsn);
      return reason === undefined ? [] : [[m.lsn, reason] as const];
    });
    const header: OverlayHeader = {
      format: FORMAT,
      protocol: PROTOCOL_VERSION,
      timelineId: this.#identity.timelineId,
      reducer: this.#identity.reducer,
      base: { journalId: base.journalId, cursor: base.cursor, hash: await baseHash },
      appliedLsn,
      migration,
      pending: { fromLsn, count, digest: await digest },
      rejections,
      visible: { pageCount: visible.pageCount, cut: visible.cut, hash: await visibleHash },
    };
    const name = formatFileName({ kind: KIND, lsn: ++this.#seq, generation: 0, ext: 'img' });
    const older = this.#files;
    this.#files = [...older, name];
    await this.#store.append(name, encodeOverlay(header, visible.pages));
    await this.#store.sync(name);
    await this.#delete(older);
  }

  /** Deletes every overlay file: the document has none to keep. */
  async clear(): Promise<void> {
    await this.#delete(this.#files);
  }

  async #delete(files: readonly string[]): Promise<void> {
    for (const file of files) {
      await this.#store.delete(file);
      this.#files = this.#files.filter((f) => f !== file);
    }
  }
}

/**
 * True when `restored` covers the first pending mutations of the opening document exactly (invariant
 * 1): `timeline` is the timeline as recovery read it (segment-log.ts: gap-free, in lsn order), the
 * pending entries those above the base's applied marker `appliedLsn`. The records' bytes carry each
 * envelope whole (timeline id, lsn, timestamp, payload), so equal digests mean equal mutations. When
 * recovery already hashed those very bytes to this digest (it checked them by it), they are not hashed
 * again.
 */
export async function covers(
  restored: RestoredOverlay,
  appliedLsn: number,
  timeline: RecoveredLog | undefined,
): Promise<boolean> {
  const { header } = restored;
  const { fromLsn, count, digest } = header.pending;
  const entries = timeline?.entries;
  const first = entries?.firstAbove(appliedLsn) ?? 0;
  const pending = entries === undefined ? 0 : entries.length - first;
  if (header.appliedLsn !== appliedLsn || count > pending) return false;
  if (count === 0) return digest === (await sha256Hex([]));
  const last = first + count - 1;
  const consecutive =
    fromLsn === appliedLsn + 1 &&
    entries!.lsn(first) === fromLsn &&
    entries!.lsn(last) === fromLsn + count - 1;
  if (!consecutive) return false;
  const records = entries!.records(first, last + 1);
  const known = timeline!.digested;
  const hashed =
    known !== undefined &&
    known.digest === digest &&
    known.bytes.buffer === records.buffer &&
    known.bytes.byteOffset === records.byteOffset &&
    known.bytes.length === records.length;
  return hashed || (await sha256Hex([records])) === digest;
}

interface CapturedOverlay {
  readonly pageCount: number;
  readonly cut: number | null;
  readonly pages: readonly FramePage[];
}

/**
 * The overlay of `store` as pages over its base: the visible pages that are not the base's (a write
 * stores a new array: page-store.ts invariant 2), and the highest page below which every base page
 * still shows (the first base page the overlay hid, less one).
 */
function captureOverlay(store: PageStore): CapturedOverlay {
  const pages: FramePage[] = [];
  let cut: number | null = null;
  for (let pgno = 1; pgno <= store.pageCount; pgno++) {
    const visible = store.read(pgno);
    const base = pgno <= store.basePageCount ? store.readBase(pgno) : undefined;
    if (visible === base) continue;
    if (visible === undefined) cut ??= pgno - 1;
    else pages.push({ pgno, data: visible });
  }
  return { pageCount: store.pageCount, cut, pages };
}

/**
 * Lays `pages` over the base of `store` as the overlay they were captured from: copied into one new
 * array, whose pages the store adopts (an allocation per page cost more than the copy in Chromium).
 */
function install(store: PageStore, visible: OverlayHeader['visible'], pages: readonly FramePage[]): void {
  if (visible.cut !== null) store.truncate(visible.cut);
  const copy = new Uint8Array(pages.length * PAGE_SIZE);
  pages.forEach((page, i) => {
    copy.set(page.data, i * PAGE_SIZE);
    store.adopt(page.pgno, copy.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE));
  });
  if (store.pageCount !== visible.pageCount) store.truncate(visible.pageCount);
  store.clearDirty();
}

function encodeOverlay(header: OverlayHeader, pages: readonly FramePage[]): Uint8Array {
  const records = [encodeRecord(RecordType.overlayHeader, new TextEncoder().encode(JSON.stringify(header)))];
  for (let from = 0; from < pages.length; from += PAGES_PER_RECORD) {
    const batch = pages.slice(from, from + PAGES_PER_RECORD);
    const body = new Uint8Array(batch.length * (4 + PAGE_SIZE));
    const view = new DataView(body.buffer);
    batch.forEach((page, i) => {
      view.setUint32(i * (4 + PAGE_SIZE), page.pgno, true);
      body.set(page.data, i * (4 + PAGE_SIZE) + 4);
    });
    records.push(encodeRecord(RecordType.overlayPages, body));
  }
  const end = new Uint8Array(4);
  new DataView(end.buffer).setUint32(0, pages.length, true);
  records.push(encodeRecord(RecordType.overlayEnd, end));
  const bytes = new Uint8Array(records.reduce((n, r) => n + r.length, 0));
  let at = 0;
  for (const record of records) {
    bytes.set(record, at);
    at += record.length;
  }
  return bytes;
}

/**
 * The header and pages of a whole overlay file; undefined for a torn or malformed one. The header and
 * end records are CRC-checked; the page records are not (record.ts invariant 3): their pages count only
 * once the visible file they make hashes as the header says (invariant 3), which no damaged page does.
 */
function decodeOverlay(bytes: Uint8Array): { header: OverlayHeader; pages: FramePage[] } | undefined {
  let parsed: OverlayHeader | undefined;
  let headerEnd = 0;
  scanRecords(bytes, (type, start, end) => {
    if (type === RecordType.overlayHeader) {
      parsed = parseHeader(new TextDecoder().decode(bytes.subarray(start, end)));
      headerEnd = end + RECORD_TAIL;
    }
    return false;
  });
  const header = parsed;
  if (header === undefined) return undefined;
  const pages: FramePage[] = [];
  let whole = false;
  // Stops at the first record out of place: only the end record after well-formed pages makes it whole.
  scanRecords(
    bytes,
    (type, start, end) => {
      if (type === RecordType.overlayEnd) {
        whole =
          end - start === 4 &&
          new DataView(bytes.buffer, bytes.byteOffset + start).getUint32(0, true) === pages.length;
        return false;
      }
      if (type !== RecordType.overlayPages || (end - start) % (4 + PAGE_SIZE) !== 0) return false;
      const view = new DataView(bytes.buffer, bytes.byteOffset + start, end - start);
      for (let at = 0; at < end - start; at += 4 + PAGE_SIZE) {
        const pgno = view.getUint32(at, true);
        if (pgno < 1 || pgno > header.visible.pageCount || pgno <= (pages.at(-1)?.pgno ?? 0)) return false;
        // A view: `install` copies the pages into the store.
        pages.push({ pgno, data: bytes.subarray(start + at + 4, start + at + 4 + PAGE_SIZE) });
      }
      return true;
    },
    headerEnd,
    bytes.length - END_RECORD_BYTES,
  );
  return whole ? { header, pages } : undefined;
}

function parseHeader(json: string): OverlayHeader | undefined {
  try {
    const value = JSON.parse(json) as OverlayHeader;
    const counts = [
      value.format,
      value.protocol,
      value.base.cursor,
      value.appliedLsn,
      value.visible.pageCount,
    ];
    const shaped =
      counts.every(Number.isSafeInteger) &&
      typeof value.timelineId === 'string' &&
      typeof value.reducer === 'string' &&
      typeof value.base.hash === 'string' &&
      typeof value.visible.hash === 'string' &&
      (value.visible.cut === null || Number.isSafeInteger(value.visible.cut)) &&
      Number.isSafeInteger(value.pending.fromLsn) &&
      Number.isSafeInteger(value.pending.count) &&
      typeof value.pending.digest === 'string' &&
      Array.isArray(value.rejections) &&
      value.rejections.every(([lsn, reason]) => Number.isSafeInteger(lsn) && typeof reason === 'string') &&
      typeof value.migration.migrated === 'boolean';
    return shaped ? value : undefined;
  } catch {
    return undefined;
  }
}
