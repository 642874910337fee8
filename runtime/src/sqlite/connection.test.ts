import { expect, test } from 'vitest';
import { GuestAsciiText, GuestText } from '../reducer/abi.js';
import type { Value } from '../value.js';
import { Connection, SqlError } from './connection.js';
import { Database } from './database.js';
import { loadSqlite } from './sqlite.js';
import * as capi from './sqlite-codes.js';

const sqlite3 = await loadSqlite();
/** C functions only these tests call. */
const c = sqlite3.exports as unknown as {
  sqlite3_next_stmt(db: number, stmt: number): number;
  sqlite3_sql(stmt: number): number;
};

function memoryConnection(): Connection {
  return new Connection(Database.open(sqlite3, ':memory:'));
}

const NULL: Value = { tag: 'null' };
const int = (val: bigint): Value => ({ tag: 'integer', val });
const real = (val: number): Value => ({ tag: 'real', val });
const text = (val: string): Value => ({ tag: 'text', val });
const blob = (...bytes: number[]): Value => ({ tag: 'blob', val: new Uint8Array(bytes) });

function sqlError(fn: () => unknown): SqlError {
  try {
    fn();
  } catch (error) {
    if (error instanceof SqlError) return error;
    throw error;
  }
  throw new Error('expected a SqlError');
}

const ROUND_TRIP: readonly [Value, string][] = [
  [real(2.0), 'real'],
  [real(1e300), 'real'],
  [real(-1.5e-300), 'real'],
  [real(Number.MAX_VALUE), 'real'],
  [real(Number.POSITIVE_INFINITY), 'real'],
  [real(-0), 'real'],
  [int(0n), 'integer'],
  [int(-(1n << 63n)), 'integer'],
  [int((1n << 63n) - 1n), 'integer'],
  [int(1n << 53n), 'integer'],
  [text(''), 'text'],
  [text('ünïcödé ✓ 𝄞 日本語'), 'text'],
  [text('nul \u0000 inside'), 'text'],
  [blob(), 'blob'],
  [blob(0, 255, 1), 'blob'],
  [NULL, 'null'],
];

test('values round-trip exactly through a parameter and through a table', () => {
  const conn = memoryConnection();
  conn.exec('CREATE TABLE t(v)');
  for (const [value, type] of ROUND_TRIP) {
    expect(conn.query('SELECT ?, typeof(?1)', [value]).rows).toEqual([[value, text(type)]]);
    conn.execute('DELETE FROM t', []);
    conn.execute('INSERT INTO t VALUES (?)', [value]);
    expect(conn.query('SELECT v, typeof(v) FROM t', []).rows).toEqual([[value, text(type)]]);
  }
  conn.close();
});

test("a NaN becomes NULL (SQLite's rule) and -0.0 keeps its sign", () => {
  const conn = memoryConnection();
  expect(conn.query('SELECT ?, typeof(?1)', [real(Number.NaN)]).rows).toEqual([[NULL, text('null')]]);
  conn.exec('CREATE TABLE t(v)');
  conn.execute('INSERT INTO t VALUES (?)', [real(-0)]);
  const stored = conn.query('SELECT v FROM t', []).rows[0]?.[0];
  expect(stored?.tag === 'real' && Object.is(stored.val, -0)).toBe(true);
  conn.close();
});

test('an integer beyond 64 bits is refused, not wrapped', () => {
  const conn = memoryConnection();
  expect(sqlError(() => conn.query('SELECT ?', [int(1n << 63n)])).code).toBe(capi.SQLITE_MISMATCH);
  conn.close();
});

test('execute runs one statement: a second one is refused before anything runs', () => {
  const conn = memoryConnection();
  conn.exec('CREATE TABLE t(x)');
  const error = sqlError(() => conn.execute('INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)', []));
  expect(error.message).toMatch(/execute runs one statement/);
  expect(sqlError(() => conn.query('SELECT 1; garbage', [])).message).toMatch(/execute runs one statement/);
  expect(sqlError(() => conn.execute('  -- nothing\n', [])).message).toMatch(/execute runs one statement/);
  expect(conn.query('SELECT count(*) FROM t', []).rows).toEqual([[int(0n)]]);
  expect(conn.execute('INSERT INTO t VALUES (1); ; -- trailing comment', [])).toBe(1n);
  conn.close();
});

test('a wrong parameter count is a SqlError', () => {
  const conn = memoryConnection();
  const error = sqlError(() => conn.query('SELECT ?, ?', [int(1n)]));
  expect(error.code).toBe(capi.SQLITE_RANGE);
  expect(error.message).toBe('statement takes 2 parameters, got 1');
  expect(sqlError(() => conn.executeBatch('SELECT ?', [[int(1n)], []])).code).toBe(capi.SQLITE_RANGE);
  conn.close();
});

test("a failing statement throws SQLite's code and message, and runs again afterwards", () => {
  const conn = memoryConnection();
  conn.exec('CREATE TABLE t(x UNIQUE)');
  const insert = 'INSERT INTO t VALUES (?)';
  conn.execute(insert, [int(1n)]);
  const error = sqlError(() => conn.execute(insert, [int(1n)]));
  expect(error.code).toBe(capi.SQLITE_CONSTRAINT_UNIQUE);
  expect(error.message).toBe('UNIQUE constraint failed: t.x');
  expect(conn.execute(insert, [int(2n)])).toBe(1n);
  const syntax = sqlError(() => conn.query('SELEC 1', []));
  expect(syntax.code).toBe(capi.SQLITE_ERROR);
  expect(syntax.message).toMatch(/syntax error/);
  conn.close();
});

test('execute counts the rows it changed, and zero for a statement that changes none', () => {
  const conn = memoryConnection();
  conn.exec('CREATE TABLE t(x)');
  expect(conn.execute('INSERT INTO t VALUES (1), (2), (3)', [])).toBe(3n);
  expect(conn.execute('CREATE TABLE u(y)', [])).toBe(0n);
  expect(conn.execute('UPDATE t SET x = x + 1 WHERE x > ?', [int(1n)])).toBe(2n);
  expect(conn.execute('SELECT * FROM t', [])).toBe(0n);
  expect(conn.execute('DELETE FROM t', [])).toBe(3n);
  conn.close();
});

test('executeBatch steps the statement once per row and sums the changes', () => {
  const conn = memoryConnection();
  conn.exec('CREATE TABLE t(k, v)');
  const rows = [
    [int(1n), text('a')],
    [int(2n), real(2.0)],
    [int(3n), blob(9)],
  ] as const;
  expect(conn.executeBatch('INSERT INTO t VALUES (?, ?)', rows)).toBe(3n);
  expect(conn.executeBatch('DELETE FROM t WHERE k >= ?', [[int(2n)], [int(1n)]])).toBe(3n);
  expect(conn.executeBatch('INSERT INTO t VALUES (?, ?)', [])).toBe(0n);
  conn.close();
});

test('query returns the column names and the rows in order', () => {
  const conn = memoryConnection();
  conn.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t VALUES (1, 'a'), (2, 'b')");
  expect(conn.query('SELECT id, name AS label FROM t ORDER BY id DESC', [])).toEqual({
    columns: ['id', 'label'],
    rows: [
      [int(2n), text('b')],
      [int(1n), text('a')],
    ],
  });
  expect(conn.query('SELECT id FROM t WHERE id > 5', [])).toEqual({ columns: ['id'], rows: [] });
  conn.close();
});

test('a cached statement sees a schema change', () => {
  const conn = memoryConnection();
  conn.exec('CREATE TABLE t(a); INSERT INTO t VALUES (1)');
  expect(conn.query('SELECT * FROM t', []).columns).toEqual(['a']);
  conn.exec('ALTER TABLE t ADD COLUMN b DEFAULT 2');
  expect(conn.query('SELECT * FROM t', [])).toEqual({ columns: ['a', 'b'], rows: [[int(1n), int(2n)]] });
  conn.close();
});

test("a cached statement's column names follow renames of the same width, also to non-ASCII names and back", () => {
  const conn = memoryConnection();
  conn.exec('CREATE TABLE t(a, b); INSERT INTO t VALUES (1, 2)');
  const names = () => conn.query('SELECT * FROM t', []).columns;
  expect(names()).toEqual(['a', 'b']);
  expect(names()).toEqual(['a', 'b']);
  for (const [from, to] of [
    ['b', 'c'],
    ['a', 'é'],
    ['é', 'x'],
    ['c', 'y'],
  ] as const) {
    conn.exec(`ALTER TABLE t RENAME COLUMN "${from}" TO "${to}"`);
    const expected = names();
    expect(expected).toEqual(conn.query('SELECT * FROM t WHERE 1', []).columns);
    expect(expected).toContain(to);
    expect(names()).toEqual(expected);
  }
  expect(names()).toEqual(['x', 'y']);
  conn.close();
});

test('the statement cache stays bounded', () => {
  const db = Database.open(sqlite3, ':memory:');
  const conn = new Connection(db);
  for (let i = 0; i < 200; i++) conn.query(`SELECT ${i}`, []);
  let prepared = 0;
  for (let stmt = c.sqlite3_next_stmt(db.pointer, 0); stmt; stmt = c.sqlite3_next_stmt(db.pointer, stmt)) {
    prepared++;
  }
  expect(prepared).toBe(64);
  conn.close();
});

test('a full statement cache finalizes the statement used least recently', () => {
  const db = Database.open(sqlite3, ':memory:');
  const conn = new Connection(db);
  for (let i = 0; i < 64; i++) conn.query(`SELECT ${i}`, []);
  conn.query('SELECT 0', []);
  conn.query('SELECT 64', []);
  const kept = new Set<string>();
  for (let stmt = c.sqlite3_next_stmt(db.pointer, 0); stmt; stmt = c.sqlite3_next_stmt(db.pointer, stmt)) {
    kept.add(sqlite3.cString(c.sqlite3_sql(stmt)) ?? '');
  }
  expect(kept.has('SELECT 0')).toBe(true);
  expect(kept.has('SELECT 1')).toBe(false);
  expect(kept.has('SELECT 64')).toBe(true);
  conn.close();
});

test('exec runs several statements and reports a failure as a SqlError', () => {
  const conn = memoryConnection();
  conn.exec('CREATE TABLE t(x); INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)');
  expect(conn.query('SELECT count(*) FROM t', []).rows).toEqual([[int(2n)]]);
  const error = sqlError(() => conn.exec('INSERT INTO missing VALUES (1)'));
  expect(error.code).toBe(capi.SQLITE_ERROR);
  expect(error.message).toBe('no such table: missing');
  conn.close();
});

test('text a guest sent is stored as the same bytes as the same string bound from JavaScript', () => {
  const db = memoryConnection();
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v)');
  const samples = [
    '',
    'plain ascii',
    'ünïcödé ✓ 𝄞 日本語',
    'nul \u0000 inside',
    '\ufeffafter a byte order mark',
  ];
  const encoder = new TextEncoder();
  for (const [i, sample] of samples.entries()) {
    db.execute('INSERT INTO t VALUES (?, ?)', [int(BigInt(2 * i)), text(sample)]);
    const bytes = encoder.encode(sample);
    const guest = [...bytes].every((b) => b < 0x80)
      ? new GuestAsciiText(bytes)
      : new GuestText(sample, bytes);
    db.guest.execute('INSERT INTO t VALUES (?, ?)', [int(BigInt(2 * i + 1)), guest]);
  }
  const { rows } = db.query('SELECT id, typeof(v), hex(v) FROM t ORDER BY id', []);
  for (let i = 0; i < samples.length; i++) {
    const [fromJs, fromGuest] = [rows[2 * i]!, rows[2 * i + 1]!];
    expect(fromGuest.slice(1)).toEqual(fromJs.slice(1));
    expect(fromGuest[1]).toEqual(text('text'));
  }
});

test('guest texts and blobs of a batch, growing past any arena, each keep their own bytes, and an empty text stays text', () => {
  const db = memoryConnection();
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, a, b, c)');
  const encoder = new TextEncoder();
  const guestText = (s: string): Value => new GuestAsciiText(encoder.encode(s));
  const rows: Value[][] = [];
  const expected: [string, string, string][] = [];
  for (let i = 0; i < 12; i++) {
    const a = 'x'.repeat(4 ** (i % 7));
    const b = String.fromCharCode(97 + i).repeat(i);
    const c = Array.from({ length: 3 ** (i % 6) }, (_, k) => (k * 7 + i) & 0xff);
    rows.push([int(BigInt(i)), guestText(a), guestText(b), blob(...c)]);
    expected.push([a, b, Buffer.from(c).toString('hex').toUpperCase()]);
  }
  db.guest.executeBatch('INSERT INTO t VALUES (?, ?, ?, ?)', rows);
  db.guest.execute('INSERT INTO t VALUES (?, ?, ?, ?)', [int(99n), guestText(''), guestText('z'), blob(1)]);
  const got = db.query('SELECT a, b, hex(c), typeof(b) FROM t ORDER BY id', []).rows;
  expect(got.slice(0, 12).map((r) => [r[0], r[1], r[2]])).toEqual(
    expected.map(([a, b, c]) => [text(a), text(b), text(c)]),
  );
  expect(got[12]).toEqual([text(''), text('z'), text('01'), text('text')]);
  expect(got[0]![3]).toEqual(text('text'));
  db.close();
});
