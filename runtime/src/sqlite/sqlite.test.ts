import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { expect, test, vi } from 'vitest';
import { loadedSqlite, loadSqlite } from './sqlite.js';
import type { Sqlite3 } from './wasm-instance.js';

/** The first column of the first row `sql` answers, as text, through the C API alone. */
function answer(sqlite3: Sqlite3, sql: string): string | null {
  const c = sqlite3.exports;
  const [zName] = sqlite3.allocCString(':memory:');
  const [zSql] = sqlite3.allocCString(sql);
  const out = sqlite3.alloc(4);
  const peek = () => new DataView(sqlite3.heap8u().buffer).getUint32(out, true);
  try {
    expect(c.sqlite3_open_v2(zName, out, 6, 0)).toBe(0);
    const db = peek();
    expect(c.sqlite3_prepare_v3(db, zSql, -1, 0, out, 0)).toBe(0);
    const stmt = peek();
    expect(c.sqlite3_step(stmt)).toBe(100);
    const value = sqlite3.cString(c.sqlite3_column_text(stmt, 0));
    c.sqlite3_finalize(stmt);
    c.sqlite3_close_v2(db);
    return value;
  } finally {
    for (const pointer of [out, zSql, zName]) sqlite3.dealloc(pointer);
  }
}

test('loading SQLite prints nothing, and every caller shares one instance', async () => {
  expect(() => loadedSqlite()).toThrow(/await loadSqlite\(\) first/);
  const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((method) =>
    vi.spyOn(console, method).mockImplementation(() => {}),
  );
  const [first, second] = await Promise.all([loadSqlite(), loadSqlite()]);
  for (const spy of spies) expect(spy).not.toHaveBeenCalled();
  vi.restoreAllMocks();
  expect(second).toBe(first);
  expect(await loadSqlite()).toBe(first);
  expect(loadedSqlite()).toBe(first);
  expect(answer(first, 'SELECT sqlite_version()')).toBe('3.54.1');
});

/** A fresh copy of this module (its realm-wide instance not yet loaded), as a new worker would have. */
async function freshLoader(): Promise<typeof import('./sqlite.js')> {
  vi.resetModules();
  return await import('./sqlite.js');
}

const wasmBytes = () =>
  new Uint8Array(
    readFileSync(createRequire(import.meta.url).resolve('@sqlite.org/sqlite-wasm/sqlite3.wasm')),
  );

test('SQLite runs over the sqlite3.wasm module its first caller compiled', async () => {
  const { loadSqlite: load } = await freshLoader();
  const module = await WebAssembly.compile(wasmBytes());
  const instantiate = vi.spyOn(WebAssembly, 'instantiate');
  try {
    const sqlite3 = await load(Promise.resolve(module));
    expect(instantiate).toHaveBeenCalledWith(module, expect.anything());
    expect(answer(sqlite3, 'SELECT 40 + 2')).toBe('42');
  } finally {
    instantiate.mockRestore();
  }
});

test('a caller whose compile of sqlite3.wasm failed gets SQLite loading its own', async () => {
  const { loadSqlite: load } = await freshLoader();
  const sqlite3 = await load(Promise.reject(new Error('offline')));
  expect(answer(sqlite3, 'SELECT sqlite_version()')).toBe('3.54.1');
  expect(answer(sqlite3, 'SELECT 40 + 2')).toBe('42');
});
