// sqlite3.wasm in Node: the package's file, read and compiled. node:fs is reached through
// `process.getBuiltinModule` (runtime imports no `node:`). Chosen by runtime/package.json's
// `#sqlite3-wasm` import under the `node` condition; sqlite3-wasm-fetch.ts elsewhere.

export async function compileSqliteWasm(): Promise<WebAssembly.Module> {
  const { readFile } = process.getBuiltinModule('node:fs/promises');
  const { createRequire } = process.getBuiltinModule('node:module');
  const path = createRequire(import.meta.url).resolve('@sqlite.org/sqlite-wasm/sqlite3.wasm');
  return WebAssembly.compile(new Uint8Array(await readFile(path)));
}
