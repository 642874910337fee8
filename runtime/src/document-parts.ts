// What a host hands a LocalDocument once it opened the replica and migrated it (host-node,
// host-browser): the replica, its timeline, and the places its base and overlay are kept.
import type { RestoredOverlayState } from './pending-overlay.js';
import type { ReducerModule } from './reducer/host.js';
import type { RecordedRejections } from './rejected-mutations.js';
import type { Replica } from './replica.js';
import type { ClientBase } from './storage/client-base.js';
import type { DocumentJournal } from './storage/document-journal.js';
import type { OverlayKeeper } from './storage/overlay-cache.js';
import type { RecoveredMutations } from './storage/recovered-mutations.js';

/** What opening did to the schema: the versions before and after `migrate`. */
export interface MigrationReport {
  readonly fromVersion: number;
  readonly toVersion: number;
  /** False when the database was already at the reducer's version. */
  readonly migrated: boolean;
}

export interface LocalDocumentParts {
  readonly docId: string;
  readonly timelineId: string;
  /** Proves the timeline is this replica's to the coordinator (storage/timeline-secret.ts). */
  readonly timelineSecret: string;
  readonly replica: Replica;
  readonly migration: MigrationReport;
  /** Where the timeline is kept; without one the document lives in memory only. */
  readonly journal?: DocumentJournal;
  /** Pending mutations recovered from the journal, replayed before anything else. */
  readonly pending?: RecoveredMutations;
  /** Releases what the host opened for this document (files), after the replica closed. */
  readonly onClose?: () => Promise<void>;
  /**
   * Records at close how far the timeline went (the next lsn), so that a timeline found shorter at the
   * next open is reported, not replayed silently shorter (storage/client-identity.ts).
   */
  readonly recordReach?: (nextLsn: number) => Promise<void>;
  /** This timeline's applied marker as the replica's pages record it (-1 for none). */
  readonly readAppliedLsn?: () => number;
  /** The coordinator's reasons for this timeline's rejected mutations in [from, to], from the pages. */
  readonly readRejections?: RecordedRejections;
  /** Runs after a rebase, before the pending mutations: brings the overlay to the reducer's schema. */
  readonly prepareOverlay?: () => void;
  /** The document now runs `reducer` (an upgrade): what is kept under the old one's name follows. */
  readonly reducerChanged?: (reducer: ReducerModule) => void;
  /**
   * Records durably that the document runs at `schemaVersion` from now on, keeping `reducer` (the one it
   * moves to) beside the mark (storage/schema-mark.ts), before it can take a mutation under it: an
   * upgrade awaits it. The mark records the move until it held (storage/schema-mark.ts invariant 6).
   */
  readonly markSchema?: (schemaVersion: number, reducer: ReducerModule) => Promise<void>;
  /** The move to `reducer` held: its mark is written again without the move (schema-mark.ts invariant 6). */
  readonly holdSchema?: (reducer: ReducerModule) => Promise<void>;
  /**
   * Puts the mark back to what `reducer` runs, the document's reducer after a move that did not hold
   * (storage/schema-mark.ts invariant 2).
   */
  readonly unmarkSchema?: (reducer: ReducerModule) => Promise<void>;
  /** Where the base is kept, and where it stood when the document was opened. */
  readonly base?: { readonly keeper: ClientBase; readonly journalId: string | null; readonly cursor: number };
  /**
   * Where the overlay is persisted (storage/overlay-cache.ts), and what opening restored from it: the
   * replica's overlay already holds the pending mutations through `throughLsn`, with these local
   * rejections among them.
   */
  readonly overlay?: { readonly keeper: OverlayKeeper; readonly restored?: RestoredOverlayState };
}
