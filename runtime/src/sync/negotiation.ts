// The seam of the reducer negotiation (DESIGN.md §2, §7): what a SyncClient asks when a welcome names a
// reducer other than its document's. The SyncClient owns the mechanics (when to ask, what it waits for,
// when the document moves: sync-client.ts S8, client-reducer.ts); the policy and the steps (which way
// to go, fetching and checking the offered reducer, what a failed move means) are `@tandem/migrations`'
// `reducerNegotiation`, handed in by the host as its `schemaLifecycle` is: migrations sits above the
// runtime.
import type { ReducerModule } from '../reducer/host.js';
import type { ReducerLimits } from '../reducer/limits.js';

/** A reducer as the negotiation compares it: its identity and the schema version it migrates to. */
export interface ReducerIdentity {
  readonly hash: string;
  readonly schemaVersion: number;
}

/** A reducer the coordinator serves, loaded, with the schema version it declares. */
export interface OfferedReducer {
  readonly module: ReducerModule;
  readonly schemaVersion: number;
}

/** Move the document to the coordinator's reducer, wait until it runs this client's, or stop. */
export type ReducerDecision = 'upgrade' | 'wait' | 'mismatch';

export interface ReducerNegotiation {
  /** What a client does about the coordinator's reducer `offered` while its document runs `own`. */
  decide(own: ReducerIdentity, offered: ReducerIdentity): ReducerDecision;
  /**
   * Fetches the reducer `hash` from the coordinator whose sync endpoint is `coordinatorUrl`, checks it
   * is that reducer and loads it under `limits`. Rejects with a SyncFailure (`reducer-mismatch`) when it
   * cannot be the one named (a client never runs a reducer the coordinator does not list), with a plain
   * Error when the coordinator did not answer (the next session asks again).
   */
  fetchOffered(coordinatorUrl: string, hash: string, limits: Partial<ReducerLimits>): Promise<OfferedReducer>;
  /**
   * What a move to `reducer` threw, as the client fails with it: a SyncFailure stops it for good, a
   * TandemError `storage-failed` or `closed` fails it as the document's failure, anything else drops the
   * session and the next one moves again (sync-client.ts C4).
   */
  moveFailure(error: unknown, reducer: OfferedReducer): unknown;
}
