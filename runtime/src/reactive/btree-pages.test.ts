import fc from 'fast-check';
import { expect, test } from 'vitest';
import { component, minimalGuest } from '../reducer/fixtures.test-helpers.js';
import { loadReducer } from '../reducer/prepare.js';
import { Replica } from '../replica.js';
import { BtreeFormatError, BtreePages } from './btree-pages.js';

const reducer = await loadReducer(await component(minimalGuest()));

function fcSeed(): number {
  const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env;
  return Number(env?.FC_SEED ?? Date.now() % 2 ** 31);
}

const SCHEMA = `
  CREATE TABLE r(id INTEGER PRIMARY KEY, v TEXT);
  CREATE INDEX r_v ON r(v);
  CREATE TABLE w(k TEXT PRIMARY KEY, v INTEGER) WITHOUT ROWID;
  CREATE TABLE other(id INTEGER PRIMARY KEY, v TEXT);`;

/** The b-trees the test walks; sqlite_schema is dbstat's name for page 1's tree. */
const TREES = ['r', 'r_v', 'w', 'other', 'sqlite_schema'] as const;
type Tree = (typeof TREES)[number];

type Op =
  | { readonly kind: 'put'; readonly table: 'r' | 'other'; readonly id: number; readonly size: number }
  | { readonly kind: 'delete'; readonly table: 'r' | 'other'; readonly id: number }
  | { readonly kind: 'key'; readonly id: number; readonly size: number }
  | { readonly kind: 'unkey'; readonly id: number }
  /** Same length, last characters changed: SQLite overwrites the payload in place (overflow pages only). */
  | { readonly kind: 'tail'; readonly id: number };

// Sizes around the local/overflow limits of a 4096-byte page (table leaf 4061, index 1002) and long chains.
const sizeArb = fc.oneof(
  fc.integer({ min: 0, max: 300 }),
  fc.integer({ min: 990, max: 1010 }),
  fc.integer({ min: 4050, max: 4110 }),
  fc.integer({ min: 8000, max: 30_000 }),
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('put' as const),
    table: fc.constantFrom('r' as const, 'other' as const),
    id: fc.integer({ min: 1, max: 60 }),
    size: sizeArb,
  }),
  fc.record({
    kind: fc.constant('delete' as const),
    table: fc.constantFrom('r' as const, 'other' as const),
    id: fc.integer({ min: 1, max: 60 }),
  }),
  fc.record({ kind: fc.constant('key' as const), id: fc.integer({ min: 1, max: 30 }), size: sizeArb }),
  fc.record({ kind: fc.constant('unkey' as const), id: fc.integer({ min: 1, max: 30 }) }),
  fc.record({ kind: fc.constant('tail' as const), id: fc.integer({ min: 1, max: 60 }) }),
);

/** The trees an op may write (the others it must leave alone). */
function written(op: Op): readonly Tree[] {
  switch (op.kind) {
    case 'put':
    case 'delete':
      return op.table === 'r' ? ['r', 'r_v'] : ['other'];
    case 'key':
    case 'unkey':
      return ['w'];
    case 'tail':
      return ['r', 'r_v'];
  }
}

function sqlOf(op: Op, step: number): string {
  const text = (size: number) => `'${String.fromCharCode(97 + (step % 26)).repeat(size)}'`;
  switch (op.kind) {
    case 'put':
      return `INSERT OR REPLACE INTO ${op.table}(id, v) VALUES (${op.id}, ${text(op.size)})`;
    case 'delete':
      return `DELETE FROM ${op.table} WHERE id = ${op.id}`;
    case 'key':
      return `INSERT OR REPLACE INTO w VALUES ('k${op.id}' || ${text(op.size)}, ${step})`;
    case 'unkey':
      return `DELETE FROM w WHERE k LIKE 'k${op.id}%'`;
    case 'tail':
      return `UPDATE r SET v = substr(v, 1, length(v) - 4) || printf('%04d', ${step % 10_000}) WHERE id = ${op.id} AND length(v) >= 4`;
  }
}

function run(replica: Replica, op: Op, step: number): void {
  replica.transaction(() => replica.connection.exec(sqlOf(op, step)));
}

function dbstatPages(replica: Replica, name: Tree): number[] {
  return replica
    .query('SELECT pageno FROM dbstat WHERE name = ? ORDER BY pageno', [name])
    .map((row) => Number(row.pageno));
}

function rootOf(replica: Replica, name: Tree): number {
  if (name === 'sqlite_schema') return 1;
  return Number(replica.query('SELECT rootpage FROM sqlite_schema WHERE name = ?', [name])[0]?.rootpage);
}

function contents(replica: Replica, name: Tree): string {
  const sql = {
    r: 'SELECT * FROM r ORDER BY id',
    r_v: 'SELECT v, id FROM r INDEXED BY r_v ORDER BY v, id',
    w: 'SELECT * FROM w ORDER BY k',
    other: 'SELECT * FROM other ORDER BY id',
    sqlite_schema: 'SELECT * FROM sqlite_schema ORDER BY name',
  }[name];
  return JSON.stringify(replica.query(sql));
}

const sorted = (pages: ReadonlySet<number>) => [...pages].sort((a, b) => a - b);

test('the pages walked from a root are the pages dbstat lists, and a walk reports every change of its tree and none of another', async () => {
  const seed = fcSeed();
  let opened = 0;
  const property = fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 30 }), async (ops) => {
    const replica = await Replica.open({ name: `btree-pages-${++opened}`, reducer });
    try {
      replica.transaction(() => replica.connection.exec(SCHEMA));
      const read = (pgno: number) => replica.store.read(pgno);
      const trees = new Map(TREES.map((name) => [name, new BtreePages(rootOf(replica, name), read)]));
      let before = new Map(TREES.map((name) => [name, contents(replica, name)]));
      for (const [step, op] of ops.entries()) {
        run(replica, op, step);
        const after = new Map(TREES.map((name) => [name, contents(replica, name)]));
        for (const name of TREES) {
          const tree = trees.get(name)!;
          const changed = tree.update();
          expect(sorted(tree.pages), `${name} after ${JSON.stringify(op)}`).toEqual(
            dbstatPages(replica, name),
          );
          if (after.get(name) !== before.get(name)) expect(changed, `${name} changed`).toBe(true);
          if (name !== 'sqlite_schema' && !written(op).includes(name)) {
            expect(changed, `${name} untouched by ${JSON.stringify(op)}`).toBe(false);
          }
          expect(sorted(new BtreePages(tree.root, read).pages)).toEqual(sorted(tree.pages));
        }
        before = after;
      }
    } finally {
      replica.close();
    }
  });
  try {
    await fc.assert(property, { seed, numRuns: 25 });
  } catch (error) {
    throw new Error(`b-tree walk property failed; replay with FC_SEED=${seed}`, { cause: error });
  }
});

test('a walk over bytes that are no b-tree fails with BtreeFormatError', () => {
  const junk = new Uint8Array(4096).fill(7);
  expect(() => new BtreePages(2, (pgno) => (pgno === 2 ? junk : undefined))).toThrow(BtreeFormatError);
  const loop = new Uint8Array(4096);
  loop[0] = 5; // an interior table page whose right child is itself
  loop.set([0, 0, 0, 2], 8);
  expect(() => new BtreePages(2, (pgno) => (pgno === 2 ? loop : undefined))).toThrow(BtreeFormatError);
});

test('a root the file does not hold is an empty tree, and one that appears is a change', () => {
  const pages = new Map<number, Uint8Array>();
  const tree = new BtreePages(2, (pgno) => pages.get(pgno));
  expect(tree.pages.size).toBe(0);
  expect(tree.update()).toBe(false);
  const leaf = new Uint8Array(4096);
  leaf[0] = 13;
  leaf.set([0x10, 0], 5);
  pages.set(2, leaf);
  expect(tree.update()).toBe(true);
  expect([...tree.pages]).toEqual([2]);
  pages.set(2, leaf.slice());
  expect(tree.update()).toBe(false);
});
