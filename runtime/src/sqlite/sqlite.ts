// Loads sqlite-wasm once per JavaScript realm (a Node process or a browser worker).
//
// Invariants:
// 1. One module instance per realm: every caller shares it, so there is one global SQLite PRNG and one
//    registry of VFSes (the capture VFS relies on both).
// 2. Quiet: the library's own warnings (chiefly the OPFS VFSes it tries to install in browsers) are
//    silenced, and those VFSes are not installed at all; Tandem keeps its pages in its own VFS and
//    does its own persistence.

import type { Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import sqlite3InitModule from '@sqlite.org/sqlite-wasm';

export type Sqlite3 = Sqlite3Static;

interface ApiConfigHolder {
  sqlite3ApiConfig?: object;
}

let loading: Promise<Sqlite3> | undefined;
let loaded: Sqlite3 | undefined;

export function loadSqlite(): Promise<Sqlite3> {
  loading ??= init().catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}

async function init(): Promise<Sqlite3> {
  // The library reads (and then deletes) this global while it boots; it is the only way to configure it.
  const holder = globalThis as ApiConfigHolder;
  holder.sqlite3ApiConfig = {
    warn: () => {},
    debug: () => {},
    disable: { vfs: { opfs: true, 'opfs-vfs': true, 'opfs-sahpool': true, 'opfs-wl': true } },
  };
  try {
    loaded = await sqlite3InitModule();
    return loaded;
  } finally {
    delete holder.sqlite3ApiConfig;
  }
}

/** The instance `loadSqlite` resolved to, for code that only runs once a database exists. */
export function loadedSqlite(): Sqlite3 {
  if (loaded === undefined) throw new Error('sqlite-wasm is not loaded: await loadSqlite() first');
  return loaded;
}
