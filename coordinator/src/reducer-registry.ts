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
// 4. With a data folder, every reducer the coordinator ever ran stays known across restarts: each one
//    deployed, and each `--reducer` it was started with (written there at start), is kept in
//    `.reducers` and loaded at every start, so a document left on an earlier reducer (its `migrate`
//    failed) still opens after any number of deploys and restarts. A kept file that does not hash to
//    its name stops the start: none is dropped.
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { declaredSchemaVersion, loadPreparedReducer, ReducerLoadError } from '@tandem/runtime';
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

  private constructor(
    given: RegisteredReducer,
    current: RegisteredReducer,
    folder: string | undefined,
    known: readonly RegisteredReducer[] = [current],
  ) {
    this.given = given;
    this.#current = current;
    this.#folder = folder;
    for (const reducer of known) this.#known.set(reducer.sha256, reducer);
  }

  /**
   * The registry of a coordinator started with `source` (`--reducer`): a ReducerLoadError if the
   * loader refuses it. With `dataDir`, `source` is kept there and every reducer kept there is known
   * (invariant 4); the one deployed last is current when its schema version is at least `source`'s
   * (invariant 2).
   */
  static async open(source: Uint8Array, dataDir?: string): Promise<ReducerRegistry> {
    const given = await register(await prepareReducer(source));
    if (dataDir === undefined) return new ReducerRegistry(given, given, undefined);
    const folder = join(dataDir, REDUCERS_FOLDER);
    const kept = (await readKept(folder)).map((reducer) =>
      reducer.sha256 === given.sha256 ? given : reducer,
    );
    if (!kept.includes(given)) {
      await mkdir(folder, { recursive: true });
      await writeDurably(join(folder, `${given.sha256}.wasm`), given.bytes);
      kept.push(given);
    }
    const deployedName = (await readFile(join(folder, 'current'), 'utf8').catch(() => undefined))?.trim();
    const deployed = kept.find((reducer) => reducer.sha256 === deployedName);
    if (deployedName !== undefined && deployed === undefined) {
      throw new Error(
        `${join(folder, 'current')} names ${deployedName}, which is not in ${folder}: the deployed reducer is missing`,
      );
    }
    const current =
      deployed !== undefined && deployed.schemaVersion >= given.schemaVersion ? deployed : given;
    return new ReducerRegistry(given, current, folder, kept);
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
    // A reducer deployed again is the newest of its schema version again.
    this.#known.delete(reducer.sha256);
    this.#known.set(reducer.sha256, reducer);
    this.#current = reducer;
    await activate(reducer, previous);
    return { status: 'deployed', reducer, previous };
  }
}

async function register(prepared: Uint8Array): Promise<RegisteredReducer> {
  const module = await loadPreparedReducer(prepared);
  return { sha256: module.sha256, bytes: prepared, schemaVersion: declaredSchemaVersion(module) };
}

/**
 * Every reducer kept in `folder`, oldest first (by schema version, then by when it was written: a
 * deploy writes its file), each checked against its name.
 */
async function readKept(folder: string): Promise<RegisteredReducer[]> {
  const names = await readdir(folder).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  const kept: { reducer: RegisteredReducer; written: bigint }[] = [];
  for (const name of names) {
    const match = /^([0-9a-f]{64})\.wasm$/.exec(name);
    if (match === null) continue;
    const path = join(folder, name);
    const bytes = new Uint8Array(await readFile(path));
    if (createHash('sha256').update(bytes).digest('hex') !== match[1]) {
      throw new Error(`${path} does not hash to its name: a kept reducer is damaged`);
    }
    const { mtimeNs } = await stat(path, { bigint: true });
    kept.push({ reducer: await register(bytes), written: mtimeNs });
  }
  kept.sort(
    (a, b) =>
      a.reducer.schemaVersion - b.reducer.schemaVersion ||
      (a.written < b.written ? -1 : a.written > b.written ? 1 : 0),
  );
  return kept.map(({ reducer }) => reducer);
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
