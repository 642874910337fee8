// Loads SQLite (sqlite3.wasm, instantiated by wasm-instance.ts) once per JavaScript realm (a Node
// process or a browser worker).
//
// Invariants:
// 1. One module instance per realm: every caller shares it, so there is one global SQLite PRNG and one
//    registry of VFSes (the capture VFS relies on both).
// 2. Quiet: nothing is printed and no VFS is installed but SQLite's own (the capture VFS installs
//    itself); Tandem keeps its pages in its own VFS and does its own persistence.
// 3. A caller that compiled sqlite3.wasm itself (a browser worker starts its fetch and compile before
//    this module's chunk has even loaded) hands the module in; if that compile failed, the module is
//    fetched (browser) or read (Node) and compiled here, as without one.

import { compileSqliteWasm } from '#sqlite3-wasm';
import { instantiateSqlite, type Sqlite3 } from './wasm-instance.js';

export type { Sqlite3, SqliteExports, WasmPointer } from './wasm-instance.js';

let loading: Promise<Sqlite3> | undefined;
let loaded: Sqlite3 | undefined;

/**
 * The realm's SQLite, loaded at the first call; `wasm` (sqlite3.wasm, compiled by the caller) is used
 * when that first call brings it (invariant 3).
 */
export function loadSqlite(wasm?: Promise<WebAssembly.Module>): Promise<Sqlite3> {
  loading ??= init(wasm).catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}

async function init(wasm: Promise<WebAssembly.Module> | undefined): Promise<Sqlite3> {
  const module = (await wasm?.catch(() => undefined)) ?? (await compileSqliteWasm());
  loaded = await instantiateSqlite(module);
  return loaded;
}

/** The instance `loadSqlite` resolved to, for code that only runs once a database exists. */
export function loadedSqlite(): Sqlite3 {
  if (loaded === undefined) throw new Error('SQLite is not loaded: await loadSqlite() first');
  return loaded;
}
