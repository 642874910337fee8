import { expect, test, vi } from 'vitest';
import { installCaptureVfs } from '../vfs/capture-vfs.js';
import { Connection } from './connection.js';
import { Database } from './database.js';
import { loadSqlite } from './sqlite.js';
import { installCallbacks } from './wasm-callbacks.js';

const sqlite3 = await loadSqlite();
const entry = (pointer: number | undefined) =>
  sqlite3.functionTable.get(pointer!) as (...args: unknown[]) => unknown;

test("callbacks are called with their signature's arguments (i64 as bigint) and give back its result type", () => {
  const seen: unknown[][] = [];
  const [count, sum, note] = installCallbacks(sqlite3, [
    {
      signature: 'i(pj)',
      fn: (p: number, j: bigint) => {
        seen.push([p, j]);
        return 2 ** 32 + 7;
      },
    },
    { signature: 'd(di)', fn: (d: number, i: number) => d + i },
    { signature: 'v(p)', fn: (p: number) => seen.push([p]) },
  ]);
  expect(entry(count)(12, 2n ** 40n)).toBe(7);
  expect(entry(sum)(0.5, 2)).toBe(2.5);
  expect(entry(note)(99)).toBeUndefined();
  expect(seen).toEqual([[12, 2n ** 40n], [99]]);
});

test('a batch of callbacks is one wasm module that exports nothing: the engine wraps none of them for JavaScript', () => {
  const modules = vi.spyOn(WebAssembly, 'Module');
  let sources: unknown[][];
  let pointers: number[];
  try {
    pointers = installCallbacks(sqlite3, [
      { signature: 'i(pi)', fn: () => 1 },
      { signature: 'i(pi)', fn: () => 2 },
      { signature: 'v(j)', fn: () => undefined },
    ]);
    sources = [...modules.mock.calls];
  } finally {
    modules.mockRestore();
  }
  expect(sources).toHaveLength(1);
  const module = new WebAssembly.Module(sources[0]![0] as Uint8Array<ArrayBuffer>);
  expect(WebAssembly.Module.exports(module)).toEqual([]);
  // Consecutive table slots, each holding its own function.
  expect(pointers[1]! - pointers[0]!).toBe(1);
  expect(pointers[2]! - pointers[1]!).toBe(1);
  expect([entry(pointers[0]!)(0, 0), entry(pointers[1]!)(0, 0)]).toEqual([1, 2]);
});

test('the capture VFS and every connection reach SQLite without a wasm module per callback', () => {
  const modules = vi.spyOn(WebAssembly, 'Module');
  try {
    installCaptureVfs(sqlite3);
    const connections = [0, 1, 2].map(() => new Connection(Database.open(sqlite3, ':memory:')));
    // Each connection's authorizer answers through the shared trampoline.
    for (const connection of connections) {
      connection.exec('CREATE TABLE t(x)');
      expect(connection.authorizations('SELECT x FROM t').length).toBeGreaterThan(0);
      connection.close();
    }
    // One for the VFS's 21 methods and one for the connections' two trampolines, unless an earlier test
    // in this process made them already (both are made once per SQLite instance).
    expect(modules.mock.calls.length).toBeLessThanOrEqual(2);
  } finally {
    modules.mockRestore();
  }
});
