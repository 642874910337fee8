// The reducers a coordinator knows, by the SHA-256 of their prepared bytes, and the one current reducer
// its documents run. An operator deploys a new one while the coordinator serves (server.ts, POST
// /admin/reducers; `tandem-coordinator deploy`).
//
// Invariants:
// 1. A deploy is checked whole before anything changes: bytes the runtime's loader refuses (what
//    `tandem inspect` refuses: not WebAssembly, imports outside the world, …) and a schema version lower
//    than the current reducer's are refused with a message saying why; the registry, its files and the
//    documents are then exactly as before.
// 2. With a data folder (or a PostgreSQL store: store/reducer-shelf.ts), a deployed reducer is kept
//    (`.reducers/<sha256>.wasm`, then `.reducers/current`, each written to a temporary file, synced and
//    renamed; or the `reducers` and `current_reducer` rows) before it becomes current. A coordinator
//    started with a `--reducer` of a higher schema version than the store's current one (or on a store
//    naming none) records it current exactly as a deploy would (invariant 6), so a restart, and every
//    other coordinator on the store, runs it too; one started with a `--reducer` of a lower or equal
//    schema version runs the store's current reducer (the deployed one on a tie: it came later), and
//    the server logs why.
// 3. Deploys run one after another.
// 4. With a data folder (or a PostgreSQL store), every reducer the coordinator ever ran stays known across restarts: each one
//    deployed, and each `--reducer` it was started with (written there at start), is kept in
//    `.reducers` and loaded at every start, so a document left on an earlier reducer (its `migrate`
//    failed) still opens after any number of deploys and restarts. A kept file that does not hash to
//    its name stops the start: none is dropped.
// 5. Coordinators sharing a PostgreSQL store share its reducers (shared-reducers.ts): `refresh` makes
//    every reducer kept in the store known here, and the store's current one current here when its
//    schema version is at least the local current one's. A deploy refreshes first, so it is checked
//    against the store's current reducer, not a stale local one. A refresh never undoes a deploy made
//    here while it read (it yields to it).
// 6. The store's current reducer only moves by a compare-and-set from the one this coordinator read
//    (reducer-shelf.ts, invariant 4): two deploys posted at once to two coordinators cannot leave the
//    store on the lower schema version. The one that loses reads the store again and is checked
//    again: refused (`schema-version-lower`) if the store's reducer is now of a higher schema version,
//    `current` if it is the same reducer, or recorded over it otherwise. So the store's current reducer
//    is always one of the highest schema version recorded, and every coordinator reaches it at its next
//    refresh.
import { declaredSchemaVersion, loadPreparedReducer, ReducerLoadError } from '@tandem/runtime';
import { prepareReducer } from '@tandem/runtime/prepare';
import { fileReducerShelf, type ReducerShelf } from './store/reducer-shelf.js';

export interface RegisteredReducer {
  /** SHA-256 of the prepared bytes: the identity clients say in hello, and the URL it is served at. */
  readonly sha256: string;
  /** The prepared reducer (metered once): the bytes the workers run and browsers fetch. */
  readonly bytes: Uint8Array;
  readonly schemaVersion: number;
}

export type DeployRefusal = 'invalid-reducer' | 'schema-version-lower';

export type DeployOutcome =
  | { readonly status: 'deployed'; readonly reducer: RegisteredReducer; readonly previous: RegisteredReducer }
  | { readonly status: 'current'; readonly reducer: RegisteredReducer }
  | { readonly status: 'refused'; readonly kind: DeployRefusal; readonly message: string };

export { REDUCERS_FOLDER } from './store/reducer-shelf.js';

export class ReducerRegistry {
  /** The reducer the coordinator was started with (`--reducer`), current or not (invariant 2). */
  readonly given: RegisteredReducer;
  readonly #known = new Map<string, RegisteredReducer>();
  readonly #shelf: ReducerShelf | undefined;
  #current: RegisteredReducer;
  #deploying: Promise<unknown> = Promise.resolve();
  /** Grows each time `#current` changes: a refresh that read the store before yields (invariant 5). */
  #generation = 0;

  private constructor(
    given: RegisteredReducer,
    current: RegisteredReducer,
    shelf: ReducerShelf | undefined,
    known: readonly RegisteredReducer[] = [current],
  ) {
    this.given = given;
    this.#current = current;
    this.#shelf = shelf;
    for (const reducer of known) this.#known.set(reducer.sha256, reducer);
  }

  /**
   * The registry of a coordinator started with `source` (`--reducer`): a ReducerLoadError if the
   * loader refuses it. With `dataDir`, `source` is kept there and every reducer kept there is known
   * (invariant 4); the one deployed last is current when its schema version is at least `source`'s
   * (invariant 2).
   */
  static async open(source: Uint8Array, kept?: string | ReducerShelf): Promise<ReducerRegistry> {
    const given = await register(await prepareReducer(source));
    if (kept === undefined) return new ReducerRegistry(given, given, undefined);
    const shelf = typeof kept === 'string' ? fileReducerShelf(kept) : kept;
    const entries = await shelf.kept();
    const registered: { reducer: RegisteredReducer; order: bigint }[] = [];
    for (const { sha256, bytes, order } of entries) {
      registered.push({ reducer: sha256 === given.sha256 ? given : await register(bytes), order });
    }
    registered.sort(
      (a, b) =>
        a.reducer.schemaVersion - b.reducer.schemaVersion ||
        (a.order < b.order ? -1 : a.order > b.order ? 1 : 0),
    );
    const known = registered.map(({ reducer }) => reducer);
    if (!known.includes(given)) {
      await shelf.keep(given);
      known.push(given);
    }
    const deployedName = await shelf.current();
    const deployed = known.find((reducer) => reducer.sha256 === deployedName);
    if (deployedName !== undefined && deployed === undefined) {
      throw new Error(
        `${shelf.where} names ${deployedName} as the deployed reducer, which is not kept there: the deployed reducer is missing`,
      );
    }
    const registry = new ReducerRegistry(given, deployed ?? given, shelf, known);
    if (deployed === undefined || given.schemaVersion > deployed.schemaVersion) {
      // Recorded as a deploy would be (invariant 2), `given` already kept.
      await registry.#makeCurrent(given, deployedName, { kept: true, overSameSchema: false });
    }
    return registry;
  }

  get current(): RegisteredReducer {
    return this.#current;
  }

  /** Every reducer known but the current one, oldest first (the worker falls back to the newest fitting one). */
  get older(): RegisteredReducer[] {
    return [...this.#known.values()].filter((known) => known !== this.#current);
  }

  /** A reducer this coordinator knows, by the SHA-256 of its prepared bytes. */
  get(sha256: string): RegisteredReducer | undefined {
    return this.#known.get(sha256);
  }

  /**
   * Reads the reducers kept in the store (invariant 5): those unknown here become known, and the
   * store's current one current. True when the current reducer changed (the caller then loads it in
   * the workers). Not on the deploys' queue: a document's open may wait for it while a deploy waits
   * for that document's close.
   */
  async refresh(): Promise<boolean> {
    return (await this.#refresh()).changed;
  }

  /** `refresh`, also saying which reducer the store named current when read. */
  async #refresh(): Promise<{ changed: boolean; inStore: string | undefined }> {
    const shelf = this.#shelf;
    if (shelf === undefined) return { changed: false, inStore: undefined };
    const generation = this.#generation;
    const [entries, inStore] = await Promise.all([shelf.kept(), shelf.current()]);
    const learned: { reducer: RegisteredReducer; order: bigint }[] = [];
    for (const { sha256, bytes, order } of entries) {
      if (!this.#known.has(sha256)) learned.push({ reducer: await register(bytes), order });
    }
    learned.sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
    for (const { reducer } of learned) {
      if (!this.#known.has(reducer.sha256)) this.#known.set(reducer.sha256, reducer);
    }
    if (generation !== this.#generation || inStore === undefined) return { changed: false, inStore };
    const current = this.#known.get(inStore);
    if (
      current === undefined ||
      current === this.#current ||
      current.schemaVersion < this.#current.schemaVersion
    ) {
      return { changed: false, inStore };
    }
    this.#current = current;
    this.#generation++;
    return { changed: true, inStore };
  }

  /**
   * Checks `source` (a component or a prepared reducer) and makes it current (invariants 1-3);
   * `activate` runs once it is recorded and before the deploy resolves (the workers load it).
   */
  deploy(
    source: Uint8Array,
    activate: (reducer: RegisteredReducer, previous: RegisteredReducer) => Promise<void>,
  ): Promise<DeployOutcome> {
    const run = this.#deploying.then(() => this.#deploy(source, activate));
    this.#deploying = run.catch(() => undefined);
    return run;
  }

  async #deploy(
    source: Uint8Array,
    activate: (reducer: RegisteredReducer, previous: RegisteredReducer) => Promise<void>,
  ): Promise<DeployOutcome> {
    let reducer: RegisteredReducer;
    try {
      reducer = await register(await prepareReducer(source));
    } catch (error) {
      // The loader's message, as `tandem inspect` gives it; a `schema-version` that traps is refused too.
      const message =
        error instanceof ReducerLoadError
          ? `${error.message} (${error.kind})`
          : `its schema-version cannot be read: ${error instanceof Error ? error.message : String(error)}`;
      return { status: 'refused', kind: 'invalid-reducer', message };
    }
    // Checked against the store's current reducer (invariant 5): another coordinator may have
    // deployed since this one last looked.
    const { inStore } = await this.#refresh();
    const outcome = await this.#makeCurrent(reducer, inStore, { kept: false, overSameSchema: true });
    if (outcome.status === 'deployed') await activate(reducer, outcome.previous);
    return outcome;
  }

  /**
   * Makes `reducer` current in the store and here unless the current one is of a higher schema
   * version (or of the same one, without `overSameSchema`), or is `reducer` itself; `inStore` is the
   * store's current one as last read. A compare-and-set that another coordinator's change beat reads
   * the store again and decides again (invariant 6).
   */
  async #makeCurrent(
    reducer: RegisteredReducer,
    read: string | undefined,
    how: { readonly kept: boolean; readonly overSameSchema: boolean },
  ): Promise<DeployOutcome> {
    const shelf = this.#shelf;
    let inStore = read;
    let kept = how.kept;
    for (;;) {
      const previous = this.#current;
      const same = reducer.sha256 === previous.sha256;
      // The same reducer is recorded all the same where the store names none yet (a first start).
      if (same && (shelf === undefined || inStore === reducer.sha256)) return { status: 'current', reducer };
      if (
        !same &&
        (reducer.schemaVersion < previous.schemaVersion ||
          (!how.overSameSchema && reducer.schemaVersion === previous.schemaVersion))
      ) {
        return {
          status: 'refused',
          kind: 'schema-version-lower',
          message: `this reducer is at schema version ${reducer.schemaVersion}, lower than the current reducer's ${previous.schemaVersion} (${previous.sha256}): a deploy never lowers the schema version`,
        };
      }
      if (shelf !== undefined) {
        if (!kept) {
          await shelf.keep(reducer);
          kept = true;
        }
        if (!(await shelf.setCurrent(reducer.sha256, inStore))) {
          ({ inStore } = await this.#refresh());
          continue;
        }
      }
      // A reducer deployed again is the newest of its schema version again.
      this.#known.delete(reducer.sha256);
      this.#known.set(reducer.sha256, reducer);
      this.#current = reducer;
      this.#generation++;
      return { status: 'deployed', reducer, previous };
    }
  }
}

async function register(prepared: Uint8Array): Promise<RegisteredReducer> {
  const module = await loadPreparedReducer(prepared);
  return { sha256: module.sha256, bytes: prepared, schemaVersion: declaredSchemaVersion(module) };
}
