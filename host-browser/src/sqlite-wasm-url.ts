// Where the bundle keeps sqlite-wasm's own sqlite3.wasm, so the owner worker's entry can fetch and
// compile it before sqlite-wasm's chunk (which would ask for it only once loaded and run) arrives. The
// `?url` suffix is vite's asset-URL import (a bundler without it needs the same rule): vite emits the
// file once, the same asset sqlite-wasm's own `new URL('sqlite3.wasm', import.meta.url)` names.
import url from '@sqlite.org/sqlite-wasm/sqlite3.wasm?url';

export const sqliteWasmUrl: string = url;
