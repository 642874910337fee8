import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { expect, test, vi } from 'vitest';
import { loadedSqlite, loadSqlite } from './sqlite.js';

test('loading sqlite-wasm prints nothing, and every caller shares one instance', async () => {
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
  expect(first.version.libVersion).toBe('3.54.1');
});

/** A fresh copy of this module (its realm-wide instance not yet loaded), as a new worker would have. */
async function freshLoader(): Promise<typeof import('./sqlite.js')> {
  vi.resetModules();
  return await import('./sqlite.js');
}

const wasmBytes = () =>
  readFileSync(createRequire(import.meta.url).resolve('@sqlite.org/sqlite-wasm/sqlite3.wasm'));

test('sqlite-wasm runs over the sqlite3.wasm module its first caller compiled', async () => {
  const { loadSqlite: load } = await freshLoader();
  const module = await WebAssembly.compile(wasmBytes());
  const instantiate = vi.spyOn(WebAssembly, 'instantiate');
  try {
    const sqlite3 = await load(Promise.resolve(module));
    expect(instantiate).toHaveBeenCalledWith(module, expect.anything());
    const db = new sqlite3.oo1.DB(':memory:');
    expect(db.selectValue('SELECT 40 + 2')).toBe(42);
    db.close();
  } finally {
    instantiate.mockRestore();
  }
});

test('a caller whose compile of sqlite3.wasm failed gets sqlite-wasm loading its own', async () => {
  const { loadSqlite: load } = await freshLoader();
  const sqlite3 = await load(Promise.reject(new Error('offline')));
  expect(sqlite3.version.libVersion).toBe('3.54.1');
  const db = new sqlite3.oo1.DB(':memory:');
  expect(db.selectValue('SELECT 40 + 2')).toBe(42);
  db.close();
});
