import sqlite3InitModule from '@sqlite.org/sqlite-wasm';
import { expect, test } from 'vitest';
import { component, SQL_GUEST } from './reducer/fixtures.test-helpers.js';
import type { MutationEnvelope } from './reducer/host.js';
import { loadReducer } from './reducer/prepare.js';
import { Replica } from './replica.js';
import { SqlError } from './sqlite/connection.js';

// An oracle apart from the runtime's SQLite: sqlite-wasm's own JavaScript API over its own instance.
const sqlite3 = await sqlite3InitModule();
const sqlReducer = await loadReducer(await component(SQL_GUEST));
let replicas = 0;

const SCHEMA = 'CREATE TABLE t(x INTEGER, s TEXT)';
const ROWS = "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')";

async function replicaWithRows(): Promise<Replica> {
  const replica = await Replica.open({ name: `reads-${replicas++}`, reducer: sqlReducer });
  replica.transaction(() => {
    replica.connection.exec(SCHEMA);
    replica.connection.exec(ROWS);
  });
  return replica;
}

/** What SQLite answers with its own limits: a plain sqlite-wasm database holding the same rows. */
function plainAnswer(sql: string, bind: readonly (number | string)[] = []): unknown[][] {
  const db = new sqlite3.oo1.DB(':memory:', 'c');
  try {
    db.exec(SCHEMA);
    db.exec(ROWS);
    return db.exec({ sql, bind: [...bind], rowMode: 'array', returnValue: 'resultRows' }) as unknown[][];
  } finally {
    db.close();
  }
}

const sql = (text: string, lsn = 0): MutationEnvelope => ({
  timelineId: 't',
  lsn,
  timestamp: 0,
  payload: new TextEncoder().encode(text),
});

const nested = (depth: number): string => `${'x > 0 AND ('.repeat(depth)}x < 3${')'.repeat(depth)}`;

/** Each of these passes one of the reducer's SQL limits (SQL_LIMITS), and is within SQLite's own. */
const PAST_THE_REDUCERS_LIMITS: readonly [string, string, readonly (number | string)[]][] = [
  ['expression depth 300', `SELECT x FROM t WHERE ${nested(300)} ORDER BY x`, []],
  [
    'a compound SELECT of 200 terms',
    Array.from({ length: 200 }, (_, i) => `SELECT ${i} AS n`).join(' UNION ALL '),
    [],
  ],
  [
    'a function of 300 arguments',
    `SELECT max(${Array.from({ length: 300 }, (_, i) => i).join(', ')}) AS m`,
    [],
  ],
  ['a LIKE pattern of 5,000 bytes', `SELECT count(*) AS n FROM t WHERE s LIKE '${'%'.repeat(4999)}a'`, []],
  [
    '5,000 parameters',
    `SELECT count(*) AS n FROM t WHERE x IN (${Array(5000).fill('?').join(', ')})`,
    Array.from({ length: 5000 }, (_, i) => i),
  ],
  ['a 12 MiB value', 'SELECT length(zeroblob(12 * 1024 * 1024)) AS n', []],
];

test.each(PAST_THE_REDUCERS_LIMITS)(
  'the application reads what plain SQLite answers past the reducer’s limits: %s',
  async (_, query, bind) => {
    const replica = await replicaWithRows();
    const expected = plainAnswer(query, bind);
    const { rows } = replica.queryValues(
      query,
      bind.map((v) => (typeof v === 'number' ? { tag: 'integer', val: BigInt(v) } : { tag: 'text', val: v })),
    );
    expect(
      rows.map((row) => row.map((v) => (v.tag === 'integer' ? Number(v.val) : 'val' in v ? v.val : null))),
    ).toEqual(expected);
    replica.close();
  },
);

test('the reducer keeps its limits after the application read past them, even a read that failed', async () => {
  const replica = await replicaWithRows();
  replica.query(`SELECT x FROM t WHERE ${nested(300)}`);
  expect(() => replica.query(`SELECT x FROM missing WHERE ${nested(300)}`)).toThrow(/no such table/);
  expect(() => replica.query(`SELECT x FROM t WHERE ${nested(300)} AND ?`, [])).toThrow(SqlError);
  const outcomes = replica.applyBatch([
    sql(`INSERT INTO t (x) SELECT 9 WHERE ${nested(150)}`, 0),
    sql(`INSERT INTO t (x) VALUES (${Array(200).fill('1').join(' + ')})`, 1),
    sql('INSERT INTO t (x) SELECT length(zeroblob(12 * 1024 * 1024))', 2),
    sql('INSERT INTO t (x) VALUES (4)', 3),
  ]);
  expect(outcomes).toEqual([
    { ok: false, reason: expect.stringMatching(/maximum depth 100/) },
    { ok: false, reason: expect.stringMatching(/maximum depth 100/) },
    { ok: false, reason: 'sql size limit exceeded' },
    { ok: true },
  ]);
  expect(replica.query('SELECT x FROM t ORDER BY x')).toEqual([{ x: 1 }, { x: 2 }, { x: 3 }, { x: 4 }]);
  replica.close();
});

test.each([
  ['a write', "INSERT INTO t VALUES (4, 'd')"],
  ['a schema change', 'CREATE TABLE u(y)'],
  ['a transaction', 'BEGIN'],
  ['a savepoint', 'SAVEPOINT s'],
  ['a PRAGMA setting', 'PRAGMA journal_mode = OFF'],
  ['a PRAGMA setting its argument', 'PRAGMA user_version = 7'],
  ['an ATTACH', "ATTACH ':memory:' AS other"],
])(
  'a query cannot change the database or the connection: %s is refused before it runs',
  async (_, statement) => {
    const replica = await replicaWithRows();
    const before = await replica.pageHash();
    expect(() => replica.query(statement)).toThrow(SqlError);
    expect(await replica.pageHash()).toBe(before);
    expect(replica.connection.inTransaction).toBe(false);
    expect(replica.query('PRAGMA user_version')).toEqual([{ user_version: 0 }]);
    expect(replica.query('PRAGMA database_list').map((row) => row.name)).toEqual(['main']);
    replica.close();
  },
);

test('a query may read the schema and check the file', async () => {
  const replica = await replicaWithRows();
  expect(replica.query('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
  expect(replica.query("SELECT name FROM pragma_table_info('t')")).toEqual([{ name: 'x' }, { name: 's' }]);
  expect(replica.query('PRAGMA table_info(t)').map((row) => row.name)).toEqual(['x', 's']);
  expect(replica.query('PRAGMA page_count')).toEqual([{ page_count: expect.any(Number) }]);
  replica.close();
});
