// Prepared reducers shared by the processes of one test run. Preparing (binaryen) costs about a second
// of CPU, and a test run starts a hundred processes (test files, coordinators, clients) that prepare the
// same few components; vitest's global setup names a fresh folder in TANDEM_PREPARED_CACHE for the run
// and removes it after. Nothing else sets it: without it this module does nothing. The file system is
// reached through `process.getBuiltinModule`, so the module stays isomorphic (a no-op where there is
// no Node).
//
// Invariants:
// 1. An entry holds what prepareReducer made for its key, whole: it is written to a temporary file and
//    renamed, so a reader finds all of it or nothing.
// 2. The key is the inputs preparing depends on (prepared.ts invariant 2: the component's hash, the meter
//    version, the metered limits) and the code that prepared it (this module's URL: TypeScript sources
//    and the build keep apart entries, so a stale build never borrows the sources' output or the other
//    way round).
// 3. Any failure to read or write an entry is a miss: the caller prepares as if there were no folder.

import { toHex } from '../bytes.js';

const ENV = 'TANDEM_PREPARED_CACHE';

interface Files {
  readFile(path: string): Promise<Uint8Array>;
  writeFile(path: string, bytes: Uint8Array): Promise<void>;
  rename(from: string, to: string): Promise<void>;
}

/** The run's folder and Node's file functions, when a test run named a folder. */
function sharedFolder(): { readonly dir: string; readonly files: Files } | undefined {
  const node = typeof process === 'undefined' ? undefined : process;
  const dir = node?.env[ENV];
  if (node === undefined || dir === undefined || dir === '') return undefined;
  const files = node.getBuiltinModule?.('node:fs/promises');
  return files === undefined ? undefined : { dir, files };
}

async function entryPath(dir: string, key: string): Promise<string> {
  const name = new TextEncoder().encode(`${import.meta.url}\n${key}`);
  return `${dir}/${toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', name)))}.wasm`;
}

/** The prepared bytes a process of this run stored under `key`, if any. */
export async function readSharedPrepared(key: string): Promise<Uint8Array | undefined> {
  const shared = sharedFolder();
  if (shared === undefined) return undefined;
  try {
    return new Uint8Array(await shared.files.readFile(await entryPath(shared.dir, key)));
  } catch {
    return undefined;
  }
}

/** Stores `prepared` under `key` for the other processes of this run. */
export async function writeSharedPrepared(key: string, prepared: Uint8Array): Promise<void> {
  const shared = sharedFolder();
  if (shared === undefined) return;
  try {
    const path = await entryPath(shared.dir, key);
    const partial = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}`;
    await shared.files.writeFile(partial, prepared);
    await shared.files.rename(partial, path);
  } catch {
    // A miss for the next reader (invariant 3).
  }
}
