// A SyncClient's move to the coordinator's newer reducer (its invariant S8): the steps between a
// welcome that named a newer reducer and the end of that session.
//
// Invariants:
// U1. The document moves only once its base caught up: with the burst that ends the catch-up, or at
//     once (`upgradeReducer`) when there is nothing to catch up. The catch-up holds the coordinator's own
//     migration frame, so `migrate` never runs over pages the coordinator has moved on from.
// U2. Before a burst can move it, the new schema version is recorded (`readyUpgrade`): a reopen with the
//     older reducer is then refused, whatever the document took under the new one.
// U3. A step that threw left the document on its reducer (local-document.ts invariant 11); what it
//     threw reaches the client as the negotiation's `moveFailure` says (a retry, or `upgrade-failed`).
// U4. A move ends its session (`moved`): its hello said the old hash, so nothing is pushed on it; the
//     next connects at once saying the new one.
import type { ReducerModule } from '../reducer/host.js';
import type { ClientReducer } from './client-reducer.js';
import type { OfferedReducer } from './negotiation.js';
import type { Session } from './session.js';
import type { SyncTarget } from './sync-target.js';

export class CatchUpUpgrade {
  constructor(
    private readonly target: SyncTarget,
    private readonly reducer: ClientReducer,
    /** Awaits work for a session, throwing StaleSession once it is no longer current (sync-client.ts C1). */
    private readonly awaitFor: <T>(session: Session, work: Promise<T>) => Promise<T>,
    /** The document runs `reducer` now: the client ends `session` (U4). */
    private readonly moved: (session: Session, reducer: OfferedReducer) => void,
  ) {}

  /**
   * A welcome named `offered`, newer: moves the document at once when there is nothing to catch up
   * (true: the session is over), else records its schema version and stages it for the burst (U1, U2).
   */
  async welcomed(session: Session, offered: OfferedReducer, caughtUp: boolean): Promise<boolean> {
    if (caughtUp) {
      await this.#step(session, offered, (module) => this.target.upgradeReducer!(module));
      this.moved(session, offered);
      return true;
    }
    await this.#step(session, offered, (module) => this.target.readyUpgrade?.(module));
    session.upgrade = offered;
    return false;
  }

  /** Hands a burst to the document: under the staged reducer when one waits for it (U1). */
  rebase(session: Session, update: Parameters<SyncTarget['rebase']>[0]): void {
    const upgrade = session.upgrade;
    if (upgrade === undefined) {
      this.target.rebase(update);
      return;
    }
    session.upgrade = undefined;
    try {
      this.target.rebase({ ...update, reducer: upgrade.module });
    } catch (error) {
      throw this.reducer.failure(error, upgrade);
    }
    this.moved(session, upgrade);
  }

  /** Awaits `step` of a move to `offered` (U3). */
  async #step(
    session: Session,
    offered: OfferedReducer,
    step: (module: ReducerModule) => Promise<void> | undefined,
  ): Promise<void> {
    try {
      await this.awaitFor(session, step(offered.module) ?? Promise.resolve());
    } catch (error) {
      throw this.reducer.failure(error, offered);
    }
  }
}
