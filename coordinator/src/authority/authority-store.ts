// Where an authoritative document persists: the seam between AuthorityDocument and its storage. The
// file journal (runtime's DocumentJournal over a ByteStore, with sync marks) is one implementation; the
// coordinator's PostgreSQL store is another (coordinator/src/store). Both keep the same promises:
//
// 1. `open` reads everything it recovers, and hands it to `beforeWrite`, before it writes anything: a
//    document refused there (a reducer older than its schema) is left exactly as it was.
// 2. The recovered state is the newest image and the gap-free frames after it, and holds every frame
//    whose `sync` resolved; a store holding fewer frames than it acknowledged is refused with a
//    `storage-corrupt` TandemError, never served shorter.
// 3. A frame appended is durable once a later `sync` resolves; syncs complete in call order.
// 4. `checkpoint` stores an image of the database after `frameCount` frames and only then drops the
//    frames and older images it folds in.
// 5. After a failed write the journal refuses further work: the document must be reopened.
import {
  type ByteStore,
  DocumentJournal,
  type Frame,
  type PageImage,
  type PageSource,
} from '@tandem/runtime';

/** What recovery read: the journal's identity (its `journalId`), the newest image and the frames after it. */
export interface AuthorityRecovered {
  /** The history's id recorded in the store; undefined for a store that holds none yet. */
  readonly journalId: string | undefined;
  readonly image: PageImage | undefined;
  readonly frames: Frame[];
}

export interface AuthorityJournal {
  /** The lsn the next frame must carry. */
  readonly nextFrameLsn: number;
  /** Queues a frame; durable once a later `sync` resolves (invariant 3). */
  appendFrame(frame: Frame): void;
  sync(): Promise<void>;
  /**
   * Settles once what the journal records behind its syncs (the file journal's sync marks) is durable:
   * a clean close waits for it. Absent where a sync leaves nothing behind.
   */
  marked?(): Promise<void>;
  /** Stores `source` (the base after `frameCount` frames) and drops what it folds in (invariant 4). */
  checkpoint(source: PageSource, frameCount: number): Promise<void>;
}

export interface AuthorityStoreOpen {
  /** The id recorded for a store that holds no history yet. */
  readonly journalId: string;
  /** Told what was read before anything is written; throwing refuses the document (invariant 1). */
  readonly beforeWrite: (read: Pick<AuthorityRecovered, 'image' | 'frames'>) => Promise<void>;
}

export interface AuthorityStore {
  open(options: AuthorityStoreOpen): Promise<{ journal: AuthorityJournal; recovered: AuthorityRecovered }>;
}

/** The file journal: a DocumentJournal with sync marks over `storage` (a document's folder). */
export function fileAuthorityStore(
  storage: ByteStore,
  options: { readonly segmentBytes?: number } = {},
): AuthorityStore {
  return {
    open: async ({ journalId, beforeWrite }) => {
      const { journal, recovered } = await DocumentJournal.open(storage, {
        timelineId: journalId,
        // Its frames are acknowledged to clients: a journal holding fewer is refused, never served.
        syncMarks: true,
        // Each frame in the wire form the document computed for its clients (frame-pipeline.ts
        // invariant 3): a small change writes and fsyncs a few hundred bytes, not 4 KiB per page.
        wireFrames: true,
        beforeWrite,
        ...(options.segmentBytes !== undefined && { segmentBytes: options.segmentBytes }),
      });
      return {
        journal,
        recovered: { journalId: recovered.timelineId, image: recovered.image, frames: recovered.frames },
      };
    },
  };
}
