// The reducers a coordinator knows, by the SHA-256 of their prepared bytes, and the one current reducer
// its documents run. An operator deploys a new one while the coordinator serves (server.ts, POST
// /admin/reducers; `tandem-coordinator deploy`).
//
// Invariants:
// 1. A deploy is checked whole before anything changes: bytes the runtime's loader refuses (what
//    `tandem inspect` refuses: not WebAssembly, imports outside the world, …) and a schema version lower
//    than the current reducer's are refused with a message saying why; the registry, its files and the
//    documents are then exactly as before.
// 2. With a data folder, a deployed reducer is on disk (`.reducers/<sha256>.wasm`, then `.reducers/current`,
//    each written to a temporary file, synced and renamed) before it becomes current: a coordinator that
//    restarts runs the newest reducer it was given, the deployed one or `--reducer`, whichever has the
//    higher schema version (the deployed one on a tie: it came later).
// 3. Deploys run one after another.
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { loadPreparedReducer, ReducerLoadError, type ReducerModule } from '@tandem/runtime';
import { prepareReducer } from '@tandem/runtime/prepare';

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

/** Where a data folder keeps deployed reducers: a dot-name, which no document's folder can have. */
export const REDUCERS_FOLDER = '.reducers';

export class ReducerRegistry {
  /** The reducer the coordinator was started with (`--reducer`), current or not (invariant 2). */
  readonly given: RegisteredReducer;
  readonly #known = new Map<string, RegisteredReducer>();
  readonly #folder: string | undefined;
  #current: RegisteredReducer;
  #deploying: Promise<unknown> = Promise.resolve();

  private constructor(given: RegisteredReducer, current: RegisteredReducer, folder: string | undefined) {
    this.given = given;
    this.#current = current;
    this.#folder = folder;
    this.#known.set(current.sha256, current);
  }

  /**
   * The registry of a coordinator started with `source` (`--reducer`): a ReducerLoadError if the
   * loader refuses it. With `dataDir`, the reducer deployed there last is known too, and current
   * when its schema version is at least `source`'s (invariant 2).
   */
  static async open(source: Uint8Array, dataDir?: string): Promise<ReducerRegistry> {
    const given = await register(await prepareReducer(source));
    const folder = dataDir === undefined ? undefined : join(dataDir, REDUCERS_FOLDER);
    const deployed = folder === undefined ? undefined : await readCurrent(folder);
    if (deployed === undefined || deployed.sha256 === given.sha256)
      return new ReducerRegistry(given, given, folder);
    const registry = new ReducerRegistry(
      given,
      deployed.schemaVersion >= given.schemaVersion ? deployed : given,
      folder,
    );
    registry.#known.set(given.sha256, given);
    registry.#known.set(deployed.sha256, deployed);
    return registry;
  }

  get current(): RegisteredReducer {
    return this.#current;
  }

  /** Every reducer known but the current one, in the order they became known. */
  get older(): RegisteredReducer[] {
    return [...this.#known.values()].filter((known) => known !== this.#current);
  }

  /** A reducer this coordinator knows, by the SHA-256 of its prepared bytes. */
  get(sha256: string): RegisteredReducer | undefined {
    return this.#known.get(sha256);
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
    const previous = this.#current;
    if (reducer.sha256 === previous.sha256) return { status: 'current', reducer };
    if (reducer.schemaVersion < previous.schemaVersion) {
      return {
        status: 'refused',
        kind: 'schema-version-lower',
        message: `this reducer is at schema version ${reducer.schemaVersion}, lower than the current reducer's ${previous.schemaVersion} (${previous.sha256}): a deploy never lowers the schema version`,
      };
    }
    if (this.#folder !== undefined) {
      await mkdir(this.#folder, { recursive: true });
      await writeDurably(join(this.#folder, `${reducer.sha256}.wasm`), reducer.bytes);
      await writeDurably(join(this.#folder, 'current'), new TextEncoder().encode(`${reducer.sha256}\n`));
    }
    this.#known.set(reducer.sha256, reducer);
    this.#current = reducer;
    await activate(reducer, previous);
    return { status: 'deployed', reducer, previous };
  }
}

async function register(prepared: Uint8Array): Promise<RegisteredReducer> {
  const module = await loadPreparedReducer(prepared);
  return { sha256: module.sha256, bytes: prepared, schemaVersion: schemaVersionOf(module) };
}

/** The reducer `.reducers/current` names, if any (its bytes must hash to that name). */
async function readCurrent(folder: string): Promise<RegisteredReducer | undefined> {
  const name = await readFile(join(folder, 'current'), 'utf8').catch(() => undefined);
  if (name === undefined) return undefined;
  const sha256 = name.trim();
  const bytes = new Uint8Array(await readFile(join(folder, `${sha256}.wasm`)));
  if (createHash('sha256').update(bytes).digest('hex') !== sha256) {
    throw new Error(
      `${join(folder, `${sha256}.wasm`)} does not hash to its name: the deployed reducer is damaged`,
    );
  }
  return register(bytes);
}

async function writeDurably(path: string, bytes: Uint8Array): Promise<void> {
  const temporary = `${path}.tmp-${process.pid}`;
  const file = await open(temporary, 'w');
  try {
    await file.writeFile(bytes);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, path);
  // The rename is durable once its folder is synced.
  const folder = await open(dirname(path), 'r');
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}

function refuse(name: string): never {
  throw new Error(`schema-version called ${name}`);
}

/** Runs `schema-version` in an instance whose imports all refuse (as `tandem inspect` does). */
function schemaVersionOf(module: ReducerModule): number {
  return module
    .instantiate({
      execute: () => refuse('execute'),
      executeBatch: () => refuse('execute-batch'),
      query: () => refuse('query'),
      log: () => refuse('log'),
      enter: () => refuse('enter'),
      now: () => refuse('now'),
      random: () => refuse('random'),
    })
    .schemaVersion();
}
