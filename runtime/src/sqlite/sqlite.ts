// Loads sqlite-wasm once per JavaScript realm (a Node process or a browser worker).
//
// Invariants:
// 1. One module instance per realm: every caller shares it, so there is one global SQLite PRNG and one
//    registry of VFSes (the capture VFS relies on both).
// 2. Quiet: the library's own warnings (chiefly the OPFS VFSes it tries to install in browsers) are
//    silenced, and those VFSes are not installed at all; Tandem keeps its pages in its own VFS and
//    does its own persistence.
// 3. A caller that compiled sqlite3.wasm itself (a browser worker starts its fetch and compile before
//    this module's chunk has even loaded) hands the module in; if that compile failed, the library
//    fetches and compiles its own, as without one.

import type { Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import sqlite3InitModule from '@sqlite.org/sqlite-wasm';

export type Sqlite3 = Sqlite3Static;

interface ApiConfigHolder {
  sqlite3ApiConfig?: object;
}

let loading: Promise<Sqlite3> | undefined;
let loaded: Sqlite3 | undefined;

/**
 * The realm's sqlite-wasm, loaded at the first call; `wasm` (sqlite-wasm's own sqlite3.wasm, compiled by
 * the caller) is used when that first call brings it (invariant 3).
 */
export function loadSqlite(wasm?: Promise<WebAssembly.Module>): Promise<Sqlite3> {
  loading ??= init(wasm).catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}

async function init(wasm: Promise<WebAssembly.Module> | undefined): Promise<Sqlite3> {
  const compiled = await wasm?.catch(() => undefined);
  // The library reads (and then deletes) this global while it boots; it is the only way to configure it.
  const holder = globalThis as ApiConfigHolder;
  holder.sqlite3ApiConfig = {
    warn: () => {},
    debug: () => {},
    disable: { vfs: { opfs: true, 'opfs-vfs': true, 'opfs-sahpool': true, 'opfs-wl': true } },
  };
  try {
    loaded = await (compiled === undefined ? sqlite3InitModule() : initWith(compiled));
    return loaded;
  } finally {
    delete holder.sqlite3ApiConfig;
  }
}

/** sqlite-wasm over `module`, instantiated through Emscripten's hook (it waits for the callback). */
function initWith(module: WebAssembly.Module): Promise<Sqlite3> {
  return new Promise<Sqlite3>((resolve, reject) => {
    const instantiateWasm = (
      imports: WebAssembly.Imports,
      receive: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void,
    ) => {
      WebAssembly.instantiate(module, imports).then((instance) => receive(instance, module), reject);
      return {};
    };
    (sqlite3InitModule as (options: object) => Promise<Sqlite3>)({ instantiateWasm }).then(resolve, reject);
  });
}

/** The instance `loadSqlite` resolved to, for code that only runs once a database exists. */
export function loadedSqlite(): Sqlite3 {
  if (loaded === undefined) throw new Error('sqlite-wasm is not loaded: await loadSqlite() first');
  return loaded;
}
