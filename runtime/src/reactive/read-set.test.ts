import { afterAll, expect, test } from 'vitest';
import { component, minimalGuest } from '../reducer/fixtures.test-helpers.js';
import { loadReducer } from '../reducer/prepare.js';
import { Replica } from '../replica.js';
import { readSetOf, type SchemaObject } from './read-set.js';

const reducer = await loadReducer(await component(minimalGuest()));
const replica = await Replica.open({ name: 'read-set', reducer });
replica.transaction(() =>
  replica.connection.exec(`
    CREATE TABLE a(id INTEGER PRIMARY KEY, x);
    CREATE TABLE b(id, y);
    CREATE INDEX b_y ON b(y);
    CREATE TABLE w(k PRIMARY KEY, z) WITHOUT ROWID;
    CREATE VIEW v AS SELECT a.x, b.y FROM a JOIN b ON a.id = b.id;
    CREATE VIEW vv AS SELECT * FROM v;
    CREATE VIRTUAL TABLE f USING fts5(body);`),
);
afterAll(() => replica.close());

const schema = new Map<string, SchemaObject>(
  replica
    .query('SELECT type, name, rootpage FROM sqlite_schema')
    .map((row) => [
      String(row.name).toLowerCase(),
      { type: String(row.type), rootpage: Number(row.rootpage) },
    ]),
);
const root = (name: string) => schema.get(name)!.rootpage;

/** The tables a statement reads, by name, or 'everything'. */
function reads(sql: string): string[] | 'everything' {
  const set = readSetOf(replica.connection.authorizations(sql), schema);
  if (set.everything) return 'everything';
  return [...schema]
    .filter(([, o]) => set.roots.has(o.rootpage))
    .map(([name]) => name)
    .sort();
}

test('a query reads the tables it names, even without naming a column', () => {
  expect(reads('SELECT * FROM a')).toEqual(['a']);
  expect(reads('SELECT count(*) FROM a')).toEqual(['a']);
  expect(reads('SELECT 1 FROM main.a')).toEqual(['a']);
  expect(reads('SELECT EXISTS (SELECT 1 FROM b)')).toEqual(['b']);
  expect(reads('SELECT * FROM w')).toEqual(['w']);
  expect(reads('SELECT y FROM b WHERE y > 3')).toEqual(['b']);
  expect(reads('SELECT * FROM a WHERE id IN (SELECT id FROM b)')).toEqual(['a', 'b']);
});

test('a view, nested or not, reads the tables beneath it', () => {
  expect(reads('SELECT * FROM v')).toEqual(['a', 'b']);
  expect(reads('SELECT count(*) FROM vv')).toEqual(['a', 'b']);
  expect(reads('WITH c AS (SELECT x FROM a) SELECT * FROM c')).toEqual(['a']);
});

test('a query reading no table, the schema or a pure table function depends on the schema alone', () => {
  expect(reads('SELECT 1')).toEqual([]);
  expect(reads('SELECT name FROM sqlite_schema')).toEqual([]);
  expect(reads('SELECT value FROM json_each(?)')).toEqual([]);
  expect(
    reads('WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r'),
  ).toEqual([]);
});

test('what cannot be attributed to a table of the main database reads everything', () => {
  expect(reads('SELECT * FROM f WHERE f MATCH ?')).toBe('everything');
  expect(reads('SELECT * FROM pragma_table_info(?)')).toBe('everything');
  expect(reads('SELECT * FROM dbstat')).toBe('everything');
  expect(reads('PRAGMA user_version')).toBe('everything');
  expect(reads('SELECT * FROM temp.sqlite_schema')).toBe('everything');
});

test('the planner statistics are read by every query once they exist', () => {
  replica.transaction(() => replica.connection.exec('ANALYZE'));
  const withStats = new Map(schema);
  for (const row of replica.query(
    "SELECT name, rootpage FROM sqlite_schema WHERE name LIKE 'sqlite_stat%'",
  )) {
    withStats.set(String(row.name), { type: 'table', rootpage: Number(row.rootpage) });
  }
  const set = readSetOf(replica.connection.authorizations('SELECT * FROM a'), withStats);
  expect(set.roots).toEqual(new Set([root('a'), withStats.get('sqlite_stat1')!.rootpage]));
});
