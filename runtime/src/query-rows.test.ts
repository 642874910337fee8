import fc from 'fast-check';
import { expect, test } from 'vitest';
import { TandemError } from './errors.js';
import type { ArrayRows, Row } from './local-document.js';
import { openClient, settle, sqlPayload } from './reactive/documents.test-helpers.js';

async function clientWith(...statements: string[]) {
  const client = await openClient();
  await client.document.mutateBatch(statements.map(sqlPayload));
  return client.document;
}

test('array rows keep a column named twice, where objects keep one of them', async () => {
  const document = await clientWith('CREATE TABLE t(a, b)', 'INSERT INTO t VALUES (1, 2)');
  expect(await document.query('SELECT a, a, b AS a FROM t', [], { rowMode: 'array' })).toEqual({
    columns: ['a', 'a', 'a'],
    rows: [[1, 1, 2]],
  });
  expect(await document.query('SELECT a, a, b AS a FROM t')).toEqual([{ a: 2 }]);
  await document.close();
});

test('array rows keep the columns of a self-join with * , both halves, in order', async () => {
  const document = await clientWith(
    'CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT)',
    "INSERT INTO t VALUES (1, 'one'), (2, 'two')",
  );
  const joined = await document.query('SELECT * FROM t, t AS u WHERE u.id = 3 - t.id ORDER BY t.id', [], {
    rowMode: 'array',
  });
  expect(joined).toEqual({
    columns: ['id', 'name', 'id', 'name'],
    rows: [
      [1, 'one', 2, 'two'],
      [2, 'two', 1, 'one'],
    ],
  });
  await document.close();
});

test('array rows keep the order of integer-like column names, which objects put first', async () => {
  const document = await clientWith('CREATE TABLE t(b)', "INSERT INTO t VALUES ('x')");
  const sql = 'SELECT b, 10, 2, -1 FROM t';
  expect(await document.query(sql, [], { rowMode: 'array' })).toEqual({
    columns: ['b', '10', '2', '-1'],
    rows: [['x', 10, 2, -1]],
  });
  // What objects do with the same row: the keys '2' and '10' move in front of 'b'.
  expect(Object.keys((await document.query(sql))[0]!)).toEqual(['2', '10', 'b', '-1']);
  await document.close();
});

test('array rows are the columns and values SQLite returns, for any names and values (fast-check)', async () => {
  const document = await clientWith();
  const name = fc.oneof(
    fc.constantFrom('a', 'A', '0', '1', '10', '-1', '007', '__proto__', 'constructor', ''),
    fc.string({ minLength: 1, maxLength: 6 }),
  );
  const value = fc.oneof(
    fc.constant(null),
    fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
    fc.string({ maxLength: 8 }),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((v) => !Number.isInteger(v)),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(name, value), { minLength: 1, maxLength: 8 }), async (cells) => {
      const sql = `SELECT ${cells.map((_, i) => `?${i + 1} AS "${cells[i]![0].replaceAll('"', '""')}"`).join(', ')}`;
      const result = await document.query(
        sql,
        cells.map(([, v]) => v),
        { rowMode: 'array' },
      );
      expect(result).toEqual({ columns: cells.map(([n]) => n), rows: [cells.map(([, v]) => v)] });
    }),
    { seed: Number(process.env.FC_SEED ?? Date.now() % 2 ** 31), numRuns: 200 },
  );
  await document.close();
});

const BIG = 2n ** 53n + 1n;

test('integers: auto gives numbers up to 2^53 - 1 and bigints beyond; bigint and string give one type for every integer', async () => {
  const document = await clientWith(
    'CREATE TABLE n(v INTEGER)',
    `INSERT INTO n VALUES (7), (${2n ** 53n - 1n}), (${BIG}), (${-(2n ** 63n)}), (NULL)`,
  );
  const sql = 'SELECT v FROM n ORDER BY rowid';
  expect((await document.query(sql)).map((r) => r.v)).toEqual([7, 2 ** 53 - 1, BIG, -(2n ** 63n), null]);
  expect((await document.query(sql, [], { integers: 'bigint' })).map((r) => r.v)).toEqual([
    7n,
    2n ** 53n - 1n,
    BIG,
    -(2n ** 63n),
    null,
  ]);
  expect(await document.query(sql, [], { rowMode: 'array', integers: 'string' })).toEqual({
    columns: ['v'],
    rows: [['7'], [String(2n ** 53n - 1n)], [String(BIG)], [String(-(2n ** 63n))], [null]],
  });
  // Reals stay numbers in every mode, and a bigint parameter is exact.
  expect(await document.query('SELECT 1.5 AS r, ? AS p', [BIG], { integers: 'string' })).toEqual([
    { r: 1.5, p: String(BIG) },
  ]);
  await document.close();
});

test('query refuses options it cannot follow, with invalid-argument', async () => {
  const document = await clientWith();
  for (const options of [{ rowMode: 'rows' }, { integers: 'number' }, 'array']) {
    const error = await document.query('SELECT 1', [], options as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TandemError);
    expect((error as TandemError).kind).toBe('invalid-argument');
  }
  await document.close();
});

test('a subscription in array rows hears { columns, rows }, then only a change, as its integers ask', async () => {
  const document = await clientWith('CREATE TABLE t(a, b)', 'INSERT INTO t VALUES (1, 1)');
  const heard: ArrayRows[] = [];
  const errors: unknown[] = [];
  document.subscribe('SELECT a, b AS a FROM t', [], (result) => heard.push(result), {
    rowMode: 'array',
    integers: 'bigint',
    onError: (error) => errors.push(error),
  });
  await settle();
  await document.mutate(sqlPayload('UPDATE t SET a = a'));
  await settle();
  // 1 becomes the real 1.0: the same number for 'auto', but another value for 'bigint' (1n → 1).
  await document.mutate(sqlPayload('UPDATE t SET b = 1.0'));
  await settle();
  expect(heard).toEqual([
    { columns: ['a', 'a'], rows: [[1n, 1n]] },
    { columns: ['a', 'a'], rows: [[1n, 1]] },
  ]);
  expect(errors).toEqual([]);
  await document.close();
});

test('subscribe still takes onError as its last argument, and objects stay the default', async () => {
  const document = await clientWith('CREATE TABLE t(a)', 'INSERT INTO t VALUES (1)');
  const heard: Row[][] = [];
  const errors: unknown[] = [];
  document.subscribe(
    'SELECT a FROM t',
    [],
    (rows) => heard.push(rows),
    (error) => errors.push(error),
  );
  document.subscribe(
    'SELECT nope FROM t',
    [],
    () => undefined,
    (error) => errors.push(error),
  );
  await settle();
  expect(heard).toEqual([[{ a: 1 }]]);
  expect(errors).toHaveLength(1);
  await document.close();
});
