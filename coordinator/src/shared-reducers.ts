// One reducer set for every coordinator sharing a PostgreSQL store. A deploy (POST /admin/reducers)
// reaches the coordinator it was posted to, which records it in the store's `reducers` and
// `current_reducer` tables; every other coordinator learns of it here, two ways:
// - when it takes a document's lease (before the document opens), it compares the store's current
//   reducer with its own (one small query per open, not per push). A document migrated to a newer
//   reducer elsewhere was migrated after that reducer became current in the store, and its lease
//   was given up after that: the coordinator taking it over loads the newer reducer first, and so
//   never opens it under an older one (reducer-too-old) nor serves old clients over new pages.
// - every `pollMs` (the lease time), the same comparison: documents that stay open here (their
//   lease is renewed, no takeover) and `/reducers/current` follow a deploy made elsewhere within it.
// Polling rather than LISTEN/NOTIFY: no connection held open per coordinator, nothing lost while
// one is reconnecting, and the check at the lease makes correctness depend on neither.
//
// Invariants:
// 1. The workers run the registry's current reducer once `activate` resolves: activations run one
//    at a time, each telling the workers the reducer current when it runs (and every known one).
// 2. An activation that changed the reducer closes every open document (each reopens under it at its
//    next use, its `migrate` running then) and every connection (1001), so that each client hears
//    the new reducer in its next welcome; but never the document whose lease is being taken (nothing
//    of it is open yet) — and it never waits for those closes: a close may wait for a lease being
//    taken, which may be waiting for this activation.
// 3. The store is read whole (every reducer's bytes) only when its current reducer is one this
//    coordinator has not seen there before; it counts as seen once the workers run it (a failed
//    activation is tried again at the next check).
import type { DocumentPool } from './document-pool.js';
import { errorFields, type Log } from './log.js';
import type { ReducerRegistry } from './reducer-registry.js';

export interface SharedReducersOptions {
  readonly registry: Pick<ReducerRegistry, 'current' | 'older' | 'refresh'>;
  readonly pool: Pick<DocumentPool, 'useReducers' | 'releaseAll'>;
  /** The SHA-256 the store names current; absent for a coordinator on files (nothing shared). */
  readonly currentInStore?: () => Promise<string | undefined>;
  /** Closes every connection but those of `except` (invariant 2). */
  readonly closeConnections: (reason: string, except?: string) => void;
  readonly pollMs: number;
  readonly log: Log;
  /** Told of each reducer deployed by another coordinator and taken up here (metrics). */
  readonly adopted?: () => void;
  /** Told of each timed check that failed (metrics; the log says why). */
  readonly checkFailed?: () => void;
}

export class SharedReducers {
  readonly #options: SharedReducersOptions;
  /** The reducer the workers were last told to run. */
  #running: string;
  #activating: Promise<void> = Promise.resolve();
  /** The store's current reducer when last read (invariant 3). */
  #seen: string | undefined;
  readonly #timer: NodeJS.Timeout | undefined;

  constructor(options: SharedReducersOptions) {
    this.#options = options;
    this.#running = options.registry.current.sha256;
    if (options.currentInStore !== undefined) {
      this.#timer = setInterval(() => {
        this.inStep().catch((error: unknown) => {
          options.log.warn(errorFields(error), 'reducer check failed');
          options.checkFailed?.();
        });
      }, options.pollMs);
      this.#timer.unref();
    }
  }

  /**
   * Brings this coordinator to the store's current reducer if another coordinator deployed one;
   * `docId` is the document whose lease was just taken (invariant 2).
   */
  async inStep(docId?: string): Promise<void> {
    const read = this.#options.currentInStore;
    if (read === undefined) return;
    const name = await read();
    if (name === undefined) return;
    if (
      name !== this.#seen &&
      name !== this.#options.registry.current.sha256 &&
      (await this.#options.registry.refresh())
    ) {
      this.#options.log.info(
        { reducerHash: name, schemaVersion: this.#options.registry.current.schemaVersion },
        'reducer deployed by another coordinator',
      );
      this.#options.adopted?.();
    }
    // Every time, even for a name seen before: it waits for an activation in flight (a lease taken
    // meanwhile must not open under the older reducer) and retries one that failed; it costs nothing
    // once the workers run the current reducer. Seen only once the workers run it.
    await this.activate(docId);
    this.#seen = name;
  }

  /** Runs the registry's current reducer in the workers, if they do not yet (invariants 1, 2). */
  activate(except?: string): Promise<void> {
    const run = this.#activating.then(async () => {
      const { registry, pool, closeConnections } = this.#options;
      const current = registry.current;
      if (current.sha256 === this.#running) return;
      await pool.useReducers(current, registry.older);
      this.#running = current.sha256;
      pool.releaseAll(except).catch((error: unknown) => {
        this.#options.log.error(errorFields(error), 'document close failed');
      });
      closeConnections('a new reducer was deployed', except);
    });
    this.#activating = run.catch(() => undefined);
    return run;
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
