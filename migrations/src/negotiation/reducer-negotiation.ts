// The reducer negotiation a host hands its SyncClient (the runtime's ReducerNegotiation seam, as
// `schemaLifecycle` is its SchemaLifecycle): the decision and the fetch of reducer-offer.ts, and what a
// failed move to the coordinator's reducer means.
//
// Invariant: only `migrate` failing on this document's pages (`migration-failed`) stops syncing for good
// (`upgrade-failed`): no retry can cure it. Anything else a move throws keeps its kind, so what a retry
// may cure (a refused frame, the session ending, the schema version not recorded) drops the session and
// the next one moves again; the document's own failure (its storage, closed) fails the client as its
// invariant C4 says. A move that threw left the document on its reducer (runtime local-document.ts
// invariant 11).
import { SCHEMA_MARK_UNWRITTEN, TandemError } from '@tandem/runtime/local';
import { type OfferedReducer, type ReducerNegotiation, SyncFailure } from '@tandem/runtime/sync';
import { coordinatorHttpRoot, decideReducer, fetchOfferedReducer } from './reducer-offer.js';

/** What a move to `reducer` threw, as the client fails with it (the invariant). */
export function moveFailure(error: unknown, reducer: OfferedReducer): unknown {
  if (!(error instanceof TandemError)) return error;
  if (error.kind === 'storage-failed' && error.fields.reason === SCHEMA_MARK_UNWRITTEN) {
    return new Error(
      `the move to the coordinator's reducer ${reducer.module.sha256} waits: ${error.message}`,
      {
        cause: error,
      },
    );
  }
  if (error.kind !== 'migration-failed') return error;
  return new SyncFailure(
    'upgrade-failed',
    `the coordinator runs reducer ${reducer.module.sha256} (schema version ${reducer.schemaVersion}), and this client could not move to it: ${error.message}`,
  );
}

export const reducerNegotiation: ReducerNegotiation = {
  decide: decideReducer,
  // From the coordinator whose welcome offered it.
  fetchOffered: (coordinatorUrl, hash, limits) =>
    fetchOfferedReducer(coordinatorHttpRoot(coordinatorUrl), hash, limits),
  moveFailure,
};
