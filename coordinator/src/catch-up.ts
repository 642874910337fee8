// What a client needs on connecting: where the document stands, and the pages that take the client
// from its cursor to the head. Computed in the document's worker in one call, so the head, the
// snapshot and the frames all describe the same durable state.
//
// Invariants:
// 1. `snapshot.frameCount` (or the client's cursor, without a snapshot) + `frames.length` = `head`,
//    and the frames are gap-free in lsn order from there.
// 2. A snapshot is sent when the client's pages cannot be continued by frames: another history
//    (journalId differs, or none with a cursor past 0), or a cursor outside the kept frames.

import type { WireFrame } from '@tandem/runtime';
import type { AuthorityDocument, KeptFrame } from './authority/authority-document.js';

export interface CatchUpRequest {
  readonly timelineId: string;
  /** The history the client's pages come from; null for a client with none. */
  readonly journalId: string | null;
  /** The lsn of the next frame the client needs. */
  readonly cursor: number;
  /** SHA-256 (hex) of the client's timeline secret. */
  readonly secretHash?: string;
}

export interface CatchUpReply {
  readonly journalId: string;
  /** The lsn of the document's next frame: the client is there once it has applied what follows. */
  readonly head: number;
  /** The marker of the client's timeline; -1 for none. */
  readonly appliedLsn: number;
  /** The timeline is bound to another secret: the client must be refused, not caught up. */
  readonly timelineTaken: boolean;
  /** A deflated page image the client starts from, when frames alone cannot bring it up. */
  readonly snapshot: { readonly frameCount: number; readonly bytes: Uint8Array } | undefined;
  /** In their wire form: each page a delta against the client's previous version. */
  readonly frames: readonly WireFrame[];
  /** The reducer the document runs (set by the worker): what the client is told in welcome. */
  readonly reducerHash?: string;
  /** Why the document runs an older reducer than the current one, told once after it opened. */
  readonly migrationFailure?: MigrationFailure;
}

/** The current reducer's `migrate` failed on a document, which stays at `fromVersion`. */
export interface MigrationFailure {
  readonly fromVersion: number;
  readonly toVersion: number;
  readonly reason: string;
  /** The current reducer, whose `migrate` failed. */
  readonly reducerHash: string;
}

/**
 * A push may land (and checkpoint) between the snapshot and the look at the kept frames; the
 * coordinator sends pushes one at a time per document, so a second attempt is already a surprise.
 */
const ATTEMPTS = 3;

export async function catchUp(document: AuthorityDocument, request: CatchUpRequest): Promise<CatchUpReply> {
  const sameHistory =
    request.journalId === document.journalId || (request.journalId === null && request.cursor === 0);
  const reply = (
    snapshot: CatchUpReply['snapshot'],
    from: number,
    kept: readonly KeptFrame[],
  ): CatchUpReply => ({
    journalId: document.journalId,
    head: from + kept.length,
    appliedLsn: document.appliedMarkers.get(request.timelineId) ?? -1,
    timelineTaken: document.timelineTaken(request.timelineId, request.secretHash),
    snapshot,
    frames: kept.map((k) => k.wire),
  });
  if (sameHistory) {
    const since = document.framesSince(request.cursor);
    if (since.status === 'frames') return reply(undefined, request.cursor, since.frames);
  }
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const snapshot = await document.snapshot();
    const since = document.framesSince(snapshot.frameCount);
    if (since.status === 'frames') return reply(snapshot, snapshot.frameCount, since.frames);
  }
  throw new Error(`document ${document.docId}: checkpoints kept outrunning its snapshot`);
}
