import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { expect, test } from 'vitest';
import { Database } from './database.js';
import { SqlError } from './sql-error.js';
import { SQLITE_CANTOPEN } from './sqlite-codes.js';
import { instantiateSqlite, type Sqlite3 } from './wasm-instance.js';

const module = new WebAssembly.Module(
  new Uint8Array(
    readFileSync(createRequire(import.meta.url).resolve('@sqlite.org/sqlite-wasm/sqlite3.wasm')),
  ),
);

/** The first column of the one row `sql` answers on `db`, as text. */
function answer(sqlite3: Sqlite3, db: Database, sql: string): string | null {
  const c = sqlite3.exports;
  const [zSql] = sqlite3.allocCString(sql);
  const out = sqlite3.alloc(4);
  try {
    expect(c.sqlite3_prepare_v3(db.pointer, zSql, -1, 0, out, 0)).toBe(0);
    const stmt = new DataView(sqlite3.heap8u().buffer).getUint32(out, true);
    expect(c.sqlite3_step(stmt)).toBe(100);
    const value = sqlite3.cString(c.sqlite3_column_text(stmt, 0));
    c.sqlite3_finalize(stmt);
    return value;
  } finally {
    sqlite3.dealloc(out);
    sqlite3.dealloc(zSql);
  }
}

test('SQLite opens no file through its own VFS: a file database is refused, and :memory: works', async () => {
  const sqlite3 = await instantiateSqlite(module);
  let refused: unknown;
  try {
    Database.open(sqlite3, '/tmp/tandem-never-created.db').close();
  } catch (error) {
    refused = error;
  }
  expect(refused).toBeInstanceOf(SqlError);
  expect((refused as SqlError).code & 0xff).toBe(SQLITE_CANTOPEN);
  const db = Database.open(sqlite3, ':memory:');
  expect(answer(sqlite3, db, 'SELECT 40 + 2')).toBe('42');
  db.close();
});

test('outside envelopes the PRNG is seeded from the platform: two instances draw differently', async () => {
  const draws = await Promise.all(
    [0, 1].map(async () => {
      const sqlite3 = await instantiateSqlite(module);
      const db = Database.open(sqlite3, ':memory:');
      const drawn = answer(sqlite3, db, 'SELECT hex(randomblob(16))');
      db.close();
      return drawn;
    }),
  );
  expect(draws[0]).toMatch(/^[0-9A-F]{32}$/);
  expect(draws[0]).not.toBe(draws[1]);
});

test('the memory grows as SQLite allocates, and heap8u() is always a view of all of it', async () => {
  const sqlite3 = await instantiateSqlite(module);
  const before = sqlite3.heap8u();
  expect(before.length).toBe(8 * 1024 * 1024);
  const big = sqlite3.alloc(64 * 1024 * 1024);
  const after = sqlite3.heap8u();
  expect(before.length).toBe(0);
  expect(after.length).toBeGreaterThanOrEqual(big + 64 * 1024 * 1024);
  after.fill(7, big, big + 64 * 1024 * 1024);
  sqlite3.dealloc(big);
  expect(() => sqlite3.alloc(2 ** 31 - 1)).toThrow(/out of memory/);
});

test("SQLite's local time is the platform's", async () => {
  const sqlite3 = await instantiateSqlite(module);
  const db = Database.open(sqlite3, ':memory:');
  const at = Date.UTC(2026, 6, 1, 12, 30, 15);
  const local = new Date(at);
  const pad = (n: number) => String(n).padStart(2, '0');
  const expected = `${local.getFullYear()}-${pad(local.getMonth() + 1)}-${pad(local.getDate())} ${pad(local.getHours())}:${pad(local.getMinutes())}:${pad(local.getSeconds())}`;
  expect(answer(sqlite3, db, `SELECT datetime(${at / 1000}, 'unixepoch', 'localtime')`)).toBe(expected);
  db.close();
});
