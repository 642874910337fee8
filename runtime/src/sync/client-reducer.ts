// One SyncClient's side of the reducer negotiation (sync-client.ts S8): the reducer it says in hello,
// what it waits for, and the coordinator's last offer. The decisions and the fetch are the injected
// ReducerNegotiation's (negotiation.ts: `@tandem/migrations`' reducerNegotiation).
//
// Invariants:
// 1. `hash` is the document's reducer: it changes only once the document runs the offered one.
// 2. `waitingFor` is set only by a welcome naming an older reducer and cleared by one naming `hash`
//    (or by an upgrade): while it is set the client pushes nothing.
// 3. An offer is fetched once per hash and kept while it is the one offered, except when the
//    coordinator did not answer (a transient failure): the next welcome asks again.
// 4. Without a negotiation (or a document that cannot move), another reducer is a mismatch, for good.
import type { ReducerLimits } from '../reducer/limits.js';
import type { OfferedReducer, ReducerNegotiation } from './negotiation.js';
import { SyncFailure } from './sync-failure.js';
import type { ReducerWait, SyncTarget } from './sync-target.js';

export class ClientReducer {
  readonly #target: SyncTarget;
  readonly #negotiation: ReducerNegotiation | undefined;
  readonly #limits: Partial<ReducerLimits>;
  #hash: string;
  #waitingFor: ReducerWait | undefined;
  #lastOffer: { readonly hash: string; readonly reducer: Promise<OfferedReducer> } | undefined;

  constructor(
    target: SyncTarget,
    hash: string,
    negotiation: ReducerNegotiation | undefined,
    limits: Partial<ReducerLimits> = {},
  ) {
    this.#target = target;
    this.#hash = hash;
    this.#negotiation = negotiation;
    this.#limits = limits;
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
   * Settles the reducer a welcome from `coordinatorUrl` named: 'same' when it is the client's, 'waiting'
   * when it is older, the loaded reducer when it is newer (for the client to move the document to once
   * its base caught up); throws a SyncFailure for anything else. `current` wraps each await (the
   * client's check that its session is still the current one).
   */
  async settle(
    hash: string,
    coordinatorUrl: string,
    current: <T>(work: Promise<T>) => Promise<T>,
  ): Promise<'same' | 'waiting' | OfferedReducer> {
    const own = this.#target.reducerIdentity?.();
    // The document may run it already: an upgradeReducer that went on after its session ended.
    if (hash === this.#hash || hash === own?.hash) {
      this.#hash = hash;
      this.#waitingFor = undefined;
      return 'same';
    }
    const negotiation = this.#negotiation;
    if (own === undefined || negotiation === undefined || this.#target.upgradeReducer === undefined) {
      throw new SyncFailure(
        'reducer-mismatch',
        `the coordinator runs reducer ${hash}, this client ${this.#hash}: load the coordinator's reducer`,
      );
    }
    if (this.#lastOffer?.hash !== hash) {
      this.#lastOffer = { hash, reducer: negotiation.fetchOffered(coordinatorUrl, hash, this.#limits) };
    }
    const offer = this.#lastOffer;
    let reducer: OfferedReducer;
    try {
      reducer = await current(offer.reducer);
    } catch (error) {
      if (this.#lastOffer === offer && !(error instanceof SyncFailure)) this.#lastOffer = undefined;
      throw error;
    }
    const coordinator = { hash, schemaVersion: reducer.schemaVersion };
    const decision = negotiation.decide(own, coordinator);
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

  /** What a move to `reducer` threw, as the client fails with it (the negotiation's word). */
  failure(error: unknown, reducer: OfferedReducer): unknown {
    return this.#negotiation === undefined ? error : this.#negotiation.moveFailure(error, reducer);
  }

  /** The document runs `reducer` now: the client says its hash from then on (invariant 1). */
  moved(reducer: OfferedReducer): void {
    this.#hash = reducer.module.sha256;
    this.#waitingFor = undefined;
    this.#lastOffer = undefined;
  }
}
