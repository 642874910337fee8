// sqlite3.wasm in a browser: the asset the bundle keeps it as, fetched and compiled as it streams in.
// The `?url` suffix is vite's asset-URL import (a bundler without it needs the same rule); host-browser's
// owner worker names the same asset to start this fetch before the runtime's chunk has loaded.
import url from '@sqlite.org/sqlite-wasm/sqlite3.wasm?url';

export function compileSqliteWasm(): Promise<WebAssembly.Module> {
  return WebAssembly.compileStreaming(fetch(url, { credentials: 'same-origin' }));
}
