// Prepared reducers kept on disk, so that preparing (binaryen: ~11 MB of JavaScript to import and about
// half a second of CPU) happens once per component on a machine, not at every process's first open.
// `tandem build` prepares what it built (to check it), so the first open after a build finds it here.
// The folder: TANDEM_PREPARED_CACHE when set (vitest's global setup names a fresh one per run, and the
// benches theirs; the empty string turns the cache off), else `$XDG_CACHE_HOME/tandem/prepared` (or
// `~/.cache/tandem/prepared`). The file system is reached through `process.getBuiltinModule`, so the
// module stays isomorphic: where there is no Node it does nothing (browsers run what the coordinator
// prepared).
//
// Invariants:
// 1. An entry holds what prepareReducer made for its key, whole: it is written to a temporary file and
//    renamed, so a reader finds all of it or nothing.
// 2. The key is the inputs preparing depends on (prepared.ts invariant 2: the component's hash, the meter
//    version, the metered limits) and the code that prepares: the bytes of the modules that shape the
//    output (this folder's preparing modules, whichever of sources or build is running) and the runtime's
//    package.json (which pins binaryen). Editing the instrumenter without bumping METER_VERSION, or
//    moving between sources and build, is a miss, never a stale entry.
// 3. Any failure to read or write an entry is a miss: the caller prepares as if there were no folder.
//    The caller also checks what it reads (prepare.ts), so damaged bytes are a miss too.

import { sha256Hex } from '../sha256.js';

const ENV = 'TANDEM_PREPARED_CACHE';
/** The modules whose code decides the prepared bytes (siblings of this one), invariant 2. */
const PREPARING = ['prepare', 'prepared', 'meter', 'meter-abi', 'component', 'core-module', 'binary-reader'];

interface Files {
  readFile(path: string | URL): Promise<Uint8Array>;
  writeFile(path: string, bytes: Uint8Array): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  mkdir(path: string, options: { recursive: true }): Promise<unknown>;
}

interface Folder {
  readonly dir: string;
  readonly files: Files;
}

/** The cache's folder and Node's file functions; undefined without Node or with the cache turned off. */
function cacheFolder(): Folder | undefined {
  const node = typeof process === 'undefined' ? undefined : process;
  const files = node?.getBuiltinModule?.('node:fs/promises');
  if (node === undefined || files === undefined) return undefined;
  const named = node.env[ENV];
  if (named !== undefined) return named === '' ? undefined : { dir: named, files };
  const base = node.env.XDG_CACHE_HOME || (node.env.HOME && `${node.env.HOME}/.cache`);
  return base ? { dir: `${base}/tandem/prepared`, files } : undefined;
}

let preparing: Promise<string> | undefined;

/** A digest of the code that prepares (invariant 2), read once per process. */
function preparingCode(files: Files): Promise<string> {
  preparing ??= (async () => {
    const extension = /\.[cm]?[jt]s$/.exec(new URL(import.meta.url).pathname)?.[0] ?? '.js';
    const sources = [
      ...PREPARING.map((name) => new URL(`./${name}${extension}`, import.meta.url)),
      new URL('../../package.json', import.meta.url),
    ];
    const parts = await Promise.all(sources.map((url) => files.readFile(url)));
    return sha256Hex(parts);
  })();
  return preparing;
}

async function entryPath({ dir, files }: Folder, key: string): Promise<string> {
  const name = new TextEncoder().encode(`${await preparingCode(files)}\n${key}`);
  return `${dir}/${await sha256Hex([name])}.wasm`;
}

/** The prepared bytes stored under `key`, if any. */
export async function readSharedPrepared(key: string): Promise<Uint8Array | undefined> {
  const folder = cacheFolder();
  if (folder === undefined) return undefined;
  try {
    return new Uint8Array(await folder.files.readFile(await entryPath(folder, key)));
  } catch {
    return undefined;
  }
}

/** Stores `prepared` under `key` for later processes. */
export async function writeSharedPrepared(key: string, prepared: Uint8Array): Promise<void> {
  const folder = cacheFolder();
  if (folder === undefined) return;
  try {
    const path = await entryPath(folder, key);
    await folder.files.mkdir(folder.dir, { recursive: true });
    const partial = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}`;
    await folder.files.writeFile(partial, prepared);
    await folder.files.rename(partial, path);
  } catch {
    // A miss for the next reader (invariant 3).
  }
}
