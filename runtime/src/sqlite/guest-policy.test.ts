import { expect, test } from 'vitest';
import type { Value } from '../value.js';
import { Connection, SqlError } from './connection.js';
import { Database } from './database.js';
import { loadSqlite } from './sqlite.js';

const sqlite3 = await loadSqlite();

function connection(): Connection {
  const c = new Connection(Database.open(sqlite3, ':memory:'));
  c.exec(
    'CREATE TABLE _tandem_meta (key TEXT PRIMARY KEY, value); CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, v)',
  );
  c.meterGuest(1_000_000);
  return c;
}

function guestError(c: Connection, sql: string): string {
  try {
    c.guest.execute(sql, []);
  } catch (error) {
    if (error instanceof SqlError) return error.message;
    throw error;
  }
  return 'allowed';
}

const REFUSED: readonly [string, RegExp][] = [
  ["ATTACH DATABASE 'other' AS other", /cannot ATTACH/],
  ['DETACH DATABASE other', /cannot ATTACH or DETACH/],
  ['BEGIN', /cannot control transactions/],
  ['COMMIT', /cannot control transactions/],
  ['ROLLBACK', /cannot control transactions/],
  ['SAVEPOINT s', /cannot control transactions/],
  ['RELEASE s', /cannot control transactions/],
  ['PRAGMA journal_mode = OFF', /PRAGMA journal_mode/],
  ['PRAGMA writable_schema = ON', /PRAGMA writable_schema/],
  ['PRAGMA user_version = 7', /PRAGMA user_version/],
  ['PRAGMA foreign_keys = ON', /PRAGMA foreign_keys/],
  ['PRAGMA page_size', /PRAGMA page_size/],
  ["INSERT INTO _tandem_meta VALUES ('k', 1)", /cannot write _tandem_meta/],
  ['UPDATE _TANDEM_META SET value = 2', /cannot write _tandem_meta/i],
  ['DELETE FROM _tandem_meta', /cannot write _tandem_meta/],
  ['DROP TABLE _tandem_meta', /cannot write _tandem_meta/],
  ['ALTER TABLE _tandem_meta ADD COLUMN x', /cannot change _tandem_meta/],
  ['CREATE INDEX i ON _tandem_meta (value)', /cannot change _tandem_meta/],
  ['CREATE TRIGGER t AFTER INSERT ON _tandem_meta BEGIN SELECT 1; END', /cannot change _tandem_meta/],
  ['CREATE TABLE _tandem_other (x)', /cannot write _tandem_other/],
  ['CREATE TEMP TABLE scratch (x)', /temporary objects/],
  ['CREATE VIRTUAL TABLE pages USING sqlite_dbpage', /database pages/],
  ['UPDATE sqlite_dbpage SET data = zeroblob(4096) WHERE pgno = 1', /cannot write sqlite_dbpage/],
  ['INSERT INTO items (v) SELECT total_changes()', /total_changes\(\): it reads the connection's history/],
  ['INSERT INTO items (v) VALUES (changes())', /changes\(\)/],
  ['UPDATE items SET v = Last_Insert_Rowid()', /last_insert_rowid\(\)/i],
];

test.each(REFUSED)('a reducer is refused `%s`, with the reason in the error', (sql, reason) => {
  const c = connection();
  expect(guestError(c, sql)).toMatch(/^not authorized: /);
  expect(guestError(c, sql)).toMatch(reason);
  c.close();
});

test('a reducer may create, alter and drop its own tables, write them, and read the schema and internal tables', () => {
  const c = connection();
  for (const sql of [
    'CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)',
    'ALTER TABLE notes ADD COLUMN tag TEXT',
    'CREATE INDEX notes_tag ON notes (tag)',
    'CREATE TRIGGER notes_log AFTER INSERT ON notes BEGIN INSERT INTO items (v) VALUES (NEW.body); END',
    "INSERT INTO notes (body) VALUES ('x')",
    "INSERT INTO items (v) VALUES ('autoincrement writes sqlite_sequence')",
    'SELECT * FROM _tandem_meta',
    'PRAGMA table_info(notes)',
    'PRAGMA user_version',
    'DROP TABLE notes',
  ]) {
    expect(guestError(c, sql), sql).toBe('allowed');
  }
  c.close();
});

test("the host's own statements are not restricted", () => {
  const c = connection();
  c.execute('BEGIN', []);
  c.execute('SAVEPOINT s', []);
  c.execute("INSERT INTO _tandem_meta VALUES ('k', 1)", []);
  c.execute('RELEASE s', []);
  c.execute('COMMIT', []);
  c.execute('PRAGMA user_version = 3', []);
  expect(c.query('SELECT value FROM _tandem_meta', []).rows).toEqual([[{ tag: 'integer', val: 1n }]]);
  c.close();
});

test('a statement the host prepared is never handed to the reducer unchecked, nor the reverse', () => {
  const c = connection();
  const write = "INSERT INTO _tandem_meta VALUES ('k', 2)";
  c.execute(write, []);
  expect(guestError(c, write)).toMatch(/cannot write _tandem_meta/);
  c.execute('DELETE FROM _tandem_meta', []);
  // Refused for the guest first, the same SQL still runs for the host.
  expect(guestError(c, write)).toMatch(/not authorized/);
  expect(c.execute(write, [])).toBe(1n);
  c.close();
});

const runaway = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c';
const counting =
  'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?) SELECT count(*) FROM c';
const n = (val: bigint): Value[] => [{ tag: 'integer', val }];

/** The largest `counting` argument that fits `budget` steps, found by bisection. */
function largestFitting(c: Connection, budget: number): bigint {
  let lo = 0n;
  let hi = 100_000n;
  while (lo < hi) {
    const mid = (lo + hi + 1n) / 2n;
    c.meterGuest(budget);
    try {
      c.guest.query(counting, n(mid));
      lo = mid;
    } catch {
      hi = mid - 1n;
    }
  }
  return lo;
}

test('a runaway recursive CTE is interrupted once the step budget is spent, and the failure stays until the next budget', () => {
  const c = connection();
  c.meterGuest(200_000);
  expect(() => c.guest.query(runaway, [])).toThrow('sql budget exhausted');
  expect(c.guestBudgetExhausted).toBe(true);
  expect(() => c.guest.query('SELECT 1', [])).toThrow('sql budget exhausted');
  c.meterGuest(200_000);
  expect(c.guest.query('SELECT 1', []).rows).toHaveLength(1);
  c.close();
});

test('the step count of a statement is exact: the same budget admits the same work with a cold or a warm statement cache', () => {
  const cold = connection();
  const warm = connection();
  for (let i = 0n; i < 5n; i++) warm.guest.query(counting, n(i));
  const limit = largestFitting(cold, 50_000);
  expect(limit).toBeGreaterThan(1_000n);
  expect(largestFitting(warm, 50_000)).toBe(limit);
  cold.meterGuest(50_000);
  cold.guest.query(counting, n(limit / 2n));
  expect(() => cold.guest.query(counting, n(limit / 2n + 2n))).toThrow('sql budget exhausted');
  cold.close();
  warm.close();
});
