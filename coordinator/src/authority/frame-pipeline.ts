// The authority's frames between their commit and their report: each sync of the journal is started
// right after a commit, and the frames are handed back only once it succeeded (AuthorityDocument
// invariants 3, 4 and 9).
//
// Invariants:
// 1. A sync covers exactly the frames captured since the last one started: started right after each
//    commit, each sync carries its own transaction's frame.
// 2. Frames are handed back only after their sync succeeded. The first failure is kept: every later
//    `settle` rejects with it, so a frame is never reported above a lost one, and the document refuses
//    everything until it is reopened.
// 3. Each frame's wire form is computed once, in the commit callback (`captureFrame`), against the
//    base's versions of its pages before the commit's fold replaces them; the journal stores that form
//    (a few hundred bytes where the pages are 4 KiB each).

import {
  encodeWireFrame,
  type Frame,
  keepWireForm,
  type PageReader,
  PageVersions,
  TandemError,
  type WireFrame,
  wireFormOf,
} from '@tandem/runtime';
import type { AuthorityJournal, AuthorityRecovered } from './authority-store.js';

/** A frame with its wire form (invariant 3): committed, and once its sync succeeded, durable. */
export interface KeptFrame {
  readonly frame: Frame;
  readonly wire: WireFrame;
}

/**
 * A frame just committed, with its wire form (invariant 3): `base` still reads the pages it replaces.
 * The journal's `appendFrame` then stores the wire form (runtime frame-record.ts `keepWireForm`). A
 * frame that cannot be encoded throws, and the replica refuses everything from then on (runtime
 * replica.ts invariant 7).
 */
export function captureFrame(frame: Frame, base: PageReader): KeptFrame {
  const wire = encodeWireFrame(
    frame,
    frame.pages.map((page) => base(page.pgno)),
  );
  keepWireForm(frame, wire);
  return { frame, wire };
}

/** Frames committed, with their wire forms, and the sync that makes them durable. */
export interface SyncingFrames {
  readonly frames: KeptFrame[];
  readonly done: Promise<void>;
  readonly lastLsn: number | undefined;
}

export class FramePipeline {
  readonly #docId: string;
  readonly #journal: AuthorityJournal | undefined;
  /** Frames committed and not yet syncing (filled by the replica's commit callback). */
  readonly #captured: KeptFrame[];
  #failure: TandemError | undefined;

  constructor(docId: string, journal: AuthorityJournal | undefined, captured: KeptFrame[]) {
    this.#docId = docId;
    this.#journal = journal;
    this.#captured = captured;
  }

  /** The first failure (invariant 2), if any. */
  get failure(): TandemError | undefined {
    return this.#failure;
  }

  /** Starts the sync of the frames captured so far (invariant 1). */
  start(): SyncingFrames {
    const frames = this.#captured.splice(0);
    const last = frames.at(-1)?.frame;
    if (last === undefined) return { frames: [], done: Promise.resolve(), lastLsn: undefined };
    const done = this.#journal?.sync() ?? Promise.resolve();
    // Awaited by `settle`; a failure is also told there, not as an unhandled rejection.
    done.catch(() => undefined);
    return { frames, done, lastLsn: last.lsn };
  }

  /** Waits for a sync `start` began; its frames once durable, or the first failure (invariant 2). */
  async settle(syncing: SyncingFrames): Promise<KeptFrame[]> {
    try {
      await syncing.done;
    } catch (error) {
      // The pages in memory are ahead of the disk: acting on them could acknowledge a lost frame.
      // A store that says another process owns the document now says so to the document's clients.
      if (error instanceof TandemError && error.kind === 'document-owned') this.#failure ??= error;
      this.#failure ??= new TandemError(
        'storage-failed',
        `document ${this.#docId} could not persist frame ${syncing.lastLsn}; reopen it to recover`,
        {},
        { cause: error },
      );
    }
    if (this.#failure !== undefined) throw this.#failure;
    return syncing.frames;
  }
}

/**
 * The recovered frames with their wire forms, replayed over the checkpoint image (invariant 3): a frame
 * the journal stored in its wire form keeps the one it was read from (runtime document-journal decodes
 * it against the same previous versions), one stored with its pages is encoded again.
 */
export function recoveredWireForms(recovered: Pick<AuthorityRecovered, 'image' | 'frames'>): KeptFrame[] {
  const image = new Map(recovered.image?.pages.map((page) => [page.pgno, page.data]));
  const versions = new PageVersions((pgno) => image.get(pgno));
  const kept: KeptFrame[] = [];
  for (const frame of recovered.frames) {
    const stored = wireFormOf(frame);
    if (stored !== undefined) versions.apply(frame);
    kept.push({ frame, wire: stored ?? versions.encode(frame) });
  }
  return kept;
}
