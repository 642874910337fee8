// One SyncClient's side of the reducer negotiation (sync-client.ts S8; the decisions are reducer-offer.ts's):
// the reducer it says in hello, what it waits for, and the coordinator's last offer.
//
// Invariants:
// 1. `hash` is the document's reducer: it changes only once the document runs the offered one.
// 2. `waitingFor` is set only by a welcome naming an older reducer and cleared by one naming `hash`
//    (or by an upgrade): while it is set the client pushes nothing.
// 3. An offer is fetched once per hash and kept while it is the one offered, except when the
//    coordinator did not answer (a transient failure): the next welcome asks again.
import { TandemError } from '../errors.js';
import { SCHEMA_MARK_UNWRITTEN } from '../storage/schema-mark.js';
import { decideReducer, type OfferedReducer } from './reducer-offer.js';
import { SyncFailure } from './sync-failure.js';
import type { ReducerWait, SyncOptions, SyncTarget } from './sync-target.js';

export class ReducerNegotiation {
  readonly #target: SyncTarget;
  readonly #offered: SyncOptions['offered'];
  #hash: string;
  #waitingFor: ReducerWait | undefined;
  #lastOffer: { readonly hash: string; readonly reducer: Promise<OfferedReducer> } | undefined;

  constructor(target: SyncTarget, options: Pick<SyncOptions, 'offered' | 'reducerHash'>) {
    this.#target = target;
    this.#offered = options.offered;
    this.#hash = options.reducerHash;
  }

  /** The reducer the client says in hello (invariant 1). */
  get hash(): string {
    return this.#hash;
  }

  /** What the client waits for while the coordinator runs an older reducer (invariant 2). */
  get waitingFor(): ReducerWait | undefined {
    return this.#waitingFor;
  }

  /**
   * Settles the reducer a welcome named: 'same' when it is the client's, 'waiting' when it is older, the
   * loaded reducer when it is newer (for the client to move the document to once its base caught up); throws a SyncFailure for anything else. `current` wraps each await (the client's check that
   * its session is still the current one).
   */
  async settle(
    hash: string,
    current: <T>(work: Promise<T>) => Promise<T>,
  ): Promise<'same' | 'waiting' | OfferedReducer> {
    const own = this.#target.reducerIdentity?.();
    // The document may run it already: an upgradeReducer that went on after its session ended.
    if (hash === this.#hash || hash === own?.hash) {
      this.#hash = hash;
      this.#waitingFor = undefined;
      return 'same';
    }
    const offered = this.#offered;
    if (own === undefined || offered === undefined || this.#target.upgradeReducer === undefined) {
      throw new SyncFailure(
        'reducer-mismatch',
        `the coordinator runs reducer ${hash}, this client ${this.#hash}: load the coordinator's reducer`,
      );
    }
    if (this.#lastOffer?.hash !== hash) this.#lastOffer = { hash, reducer: offered(hash) };
    const offer = this.#lastOffer;
    let reducer: OfferedReducer;
    try {
      reducer = await current(offer.reducer);
    } catch (error) {
      if (this.#lastOffer === offer && !(error instanceof SyncFailure)) this.#lastOffer = undefined;
      throw error;
    }
    const coordinator = { hash, schemaVersion: reducer.schemaVersion };
    const decision = decideReducer(own, coordinator);
    if (decision === 'mismatch') {
      throw new SyncFailure(
        'reducer-mismatch',
        `the coordinator runs reducer ${hash} and this client ${own.hash}, both of schema version ${own.schemaVersion}: load the coordinator's reducer`,
      );
    }
    if (decision === 'wait') {
      this.#waitingFor = { ...own, coordinator };
      return 'waiting';
    }
    return reducer;
  }

  /**
   * What a move to `reducer` threw, as the client fails with it. Only `migrate` failing on this
   * document's pages (`migration-failed`) is `upgrade-failed`: no retry can cure it. Anything else keeps
   * its kind, so what a retry may cure (a refused frame, the session ending, the schema version not
   * recorded) drops the session and the next one moves again; the document's own failure (its storage,
   * closed) fails the client as C4 says. A move that threw left the document on its reducer
   * (local-document.ts invariant 11).
   */
  failure(error: unknown, reducer: OfferedReducer): unknown {
    if (!(error instanceof TandemError)) return error;
    if (error.kind === 'storage-failed' && error.fields.reason === SCHEMA_MARK_UNWRITTEN) {
      return new Error(
        `the move to the coordinator's reducer ${reducer.module.sha256} waits: ${error.message}`,
        { cause: error },
      );
    }
    if (error.kind !== 'migration-failed') return error;
    return new SyncFailure(
      'upgrade-failed',
      `the coordinator runs reducer ${reducer.module.sha256} (schema version ${reducer.schemaVersion}), and this client could not move to it: ${error.message}`,
    );
  }

  /** The document runs `reducer` now: the client says its hash from then on (invariant 1). */
  moved(reducer: OfferedReducer): void {
    this.#hash = reducer.module.sha256;
    this.#waitingFor = undefined;
    this.#lastOffer = undefined;
  }
}
