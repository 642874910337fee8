// Where the bundle keeps sqlite3.wasm (the SQLite build @sqlite.org/sqlite-wasm ships), so the owner
// worker's entry can fetch and compile it before the runtime's loader chunk (which would ask for it only
// once loaded and run) arrives. The `?url` suffix is vite's asset-URL import (a bundler without it needs
// the same rule): vite emits the file once, the same asset the runtime's sqlite3-wasm-fetch.ts names.
import url from '@sqlite.org/sqlite-wasm/sqlite3.wasm?url';

export const sqliteWasmUrl: string = url;
