// The base side of a synced document (local-document.ts invariant 6): the coordinator's pages in the
// replica's base up to `cursor`, this timeline's applied marker in them, and the keeper that writes
// them beside the timeline.
//
// Invariants:
// 1. `cursor` names exactly what the base holds: it moves with the snapshot and with each frame that
//    reached the base, and a frame the replica refused leaves it at the last one taken.
// 2. What of a burst reached the base is handed to the keeper, even when a later frame was refused; a
//    snapshot that did not reach it hands over nothing. A reducer move hands it over only once the move
//    held (`staged`), and its `undo` puts back the pages, the cursor and the marker as they were.
// 3. The cached marker is the applied marker as last read, while it cannot have moved: with nothing
//    pending, the coordinator holds no mutation of this timeline above it, so frames along the same
//    history leave it as it is (markers only grow, applied-marker.ts invariant 1). A snapshot (another
//    base) forgets it. It saves a query per frame to clients that only receive.
import type { Frame } from './frame.js';
import type { ReducerModule } from './reducer/host.js';
import type { Replica } from './replica.js';
import type { ClientBase } from './storage/client-base.js';
import type { PageImage } from './storage/page-image.js';

/**
 * A burst of the coordinator's frames, after a snapshot if it has one; with a reducer, an upgrade's.
 * Its frames' page arrays are the base's once taken (never changed after, page-store.ts invariant 2).
 */
export interface Burst {
  readonly journalId: string;
  readonly snapshot?: PageImage;
  readonly frames: readonly Frame[];
  readonly reducer?: ReducerModule;
}

/** Where the base stands: the coordinator's journal and the frame it takes next. */
export interface BaseCursor {
  readonly journalId: string | null;
  readonly cursor: number;
}

/** How much of a burst reached the base. */
interface BurstTaken {
  snapshot: boolean;
  readonly frames: Frame[];
}

/** A burst's steps for a reducer move (reducer-move.ts): each runs when the move says. */
export interface StagedBurst {
  readonly apply: () => void;
  readonly undo: () => void;
  /** The move held: the keeper gets what reached the base. */
  readonly record: () => void;
}

export class DocumentBase {
  #cursor: BaseCursor;
  #markerRead: number | undefined;
  readonly #replica: Replica;
  readonly #keeper: ClientBase | undefined;
  readonly #readAppliedLsn: (() => number) | undefined;

  constructor(
    replica: Replica,
    keeper: ClientBase | undefined,
    cursor: BaseCursor,
    readAppliedLsn: (() => number) | undefined,
  ) {
    this.#replica = replica;
    this.#keeper = keeper;
    this.#cursor = cursor;
    this.#readAppliedLsn = readAppliedLsn;
  }

  get cursor(): BaseCursor {
    return this.#cursor;
  }

  /** This timeline's applied marker as the pages hold it now (-1 for none). */
  readMarker(): number {
    return this.#readAppliedLsn?.() ?? -1;
  }

  /** The applied marker, read again unless the cached one cannot have moved (invariant 3). */
  marker(nothingPending: boolean): number {
    const applied = nothingPending && this.#markerRead !== undefined ? this.#markerRead : this.readMarker();
    this.#markerRead = applied;
    return applied;
  }

  /** A reducer move held over a base whose marker is `applied`. */
  markerIs(applied: number): void {
    this.#markerRead = applied;
  }

  /** Puts `burst` in the base and hands the keeper what of it got there (invariant 2). */
  take(burst: Burst): void {
    const taken: BurstTaken = { snapshot: false, frames: [] };
    try {
      this.#apply(burst, taken);
    } finally {
      this.#record(burst, taken);
    }
  }

  /** `burst` for a reducer move: applied, undone or recorded as the move says (invariant 2). */
  staged(burst: Burst): StagedBurst {
    const before = { cursor: this.#cursor, markerRead: this.#markerRead, pages: this.#replica.saveBase() };
    const taken: BurstTaken = { snapshot: false, frames: [] };
    return {
      apply: () => this.#apply(burst, taken),
      undo: () => {
        this.#replica.restoreBase(before.pages);
        this.#cursor = before.cursor;
        this.#markerRead = before.markerRead;
      },
      record: () => this.#record(burst, taken),
    };
  }

  /** Puts `burst` in the replica's base, the snapshot then frame by frame; `taken` says how far it got. */
  #apply(burst: Burst, taken: BurstTaken): void {
    const { snapshot } = burst;
    if (snapshot !== undefined) {
      this.#markerRead = undefined;
      this.#replica.resetBase(snapshot);
      this.#cursor = { journalId: burst.journalId, cursor: snapshot.frameCount };
      taken.snapshot = true;
    }
    for (const frame of burst.frames) {
      // A burst's frames are the document's once handed to it (SyncTarget.rebase): stored uncopied.
      this.#replica.applyFrames([frame], true);
      taken.frames.push(frame);
      this.#cursor = { journalId: burst.journalId, cursor: frame.lsn + 1 };
    }
  }

  /** Hands what of `burst` reached the base to the keeper, which writes it beside the timeline. */
  #record(burst: Burst, taken: BurstTaken): void {
    const { snapshot } = burst;
    if (snapshot !== undefined && !taken.snapshot) return;
    this.#keeper?.record({
      journalId: burst.journalId,
      ...(snapshot && {
        replaced: {
          source: { pageCount: snapshot.pageCount, pages: () => snapshot.pages },
          frameCount: snapshot.frameCount,
        },
      }),
      frames: taken.frames,
      base: this.#replica.store.base(),
      cursor: this.#cursor.cursor,
    });
  }
}
