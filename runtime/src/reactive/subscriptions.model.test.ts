// Model test: random mutations over several tables (local and another client's), rebases on frames and on
// snapshots, schema changes on either side. After every step each subscription holds what its query
// returns from scratch, and one whose tables that step did not write was not re-run.
import fc from 'fast-check';
import { expect, test } from 'vitest';
import type { PlainValue } from '../value.js';
import {
  type Authority,
  type Client,
  openAuthority,
  openClient,
  settle,
  sqlPayload,
} from './documents.test-helpers.js';

function fcSeed(): number {
  const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env;
  return Number(env?.FC_SEED ?? Date.now() % 2 ** 31);
}

type Table = 'a' | 'b' | 'c' | 'd' | 'e';

const SCHEMA = `
  CREATE TABLE a(id INTEGER PRIMARY KEY, v TEXT);
  CREATE INDEX a_v ON a(v);
  CREATE TABLE b(id INTEGER PRIMARY KEY, v TEXT);
  CREATE TABLE c(k TEXT PRIMARY KEY, v INTEGER) WITHOUT ROWID;
  CREATE VIEW ab AS SELECT a.id, a.v, length(b.v) AS n FROM a JOIN b USING (id);
  CREATE TRIGGER a_gone AFTER DELETE ON a BEGIN DELETE FROM c WHERE k = 'a' || old.id; END;
  CREATE TABLE e(id INTEGER PRIMARY KEY, v TEXT)`;

/** The subscriptions and the tables each reads, as the test knows them (not as the runtime finds them). */
const SUBSCRIPTIONS: readonly { readonly sql: string; readonly reads: readonly Table[] | 'everything' }[] = [
  { sql: 'SELECT * FROM a ORDER BY id', reads: ['a'] },
  { sql: 'SELECT id, length(v) AS n, substr(v, -6) AS tail FROM b ORDER BY id', reads: ['b'] },
  { sql: 'SELECT count(*) AS n, total(v) AS s FROM c', reads: ['c'] },
  { sql: 'SELECT * FROM c ORDER BY k', reads: ['c'] },
  { sql: 'SELECT * FROM ab ORDER BY id', reads: ['a', 'b'] },
  { sql: 'SELECT k FROM c WHERE v IN (SELECT id FROM a) ORDER BY k', reads: ['a', 'c'] },
  { sql: 'SELECT * FROM d ORDER BY id', reads: ['d'] },
  { sql: 'SELECT type, name FROM sqlite_schema ORDER BY name', reads: [] },
  { sql: 'SELECT count(*) AS n FROM pragma_table_list', reads: 'everything' },
];

/** A statement a mutation runs, with what it may write. */
interface Statement {
  readonly sql: string;
  readonly writes: readonly Table[];
  readonly schema: boolean;
}

const id = fc.integer({ min: 1, max: 25 });
/** Few rows in b, so that updates often meet a row that overflows. */
const bid = fc.integer({ min: 1, max: 4 });
const n = fc.integer({ min: 0, max: 9999 });
// Around the overflow limit of a 4096-byte page (4061 bytes kept on the leaf), and chains of pages.
const size = fc.oneof(
  fc.integer({ min: 0, max: 200 }),
  fc.integer({ min: 4000, max: 4200 }),
  fc.constant(12_000),
);
const ch = fc.constantFrom('x', 'y', 'z');
const text = (length: number, c: string) => `replace(hex(zeroblob(${length})), '00', '${c}')`;
const w = (sql: string, ...writes: Table[]): Statement => ({ sql, writes, schema: false });
const s = (sql: string): Statement => ({ sql, writes: [], schema: true });

const dataStatement: fc.Arbitrary<Statement> = fc.oneof(
  fc
    .tuple(id, size, ch)
    .map(([i, l, c]) => w(`INSERT OR REPLACE INTO a(id, v) VALUES (${i}, ${text(l, c)})`, 'a')),
  fc
    .tuple(fc.integer({ min: 2, max: 5 }), ch)
    .map(([m, c]) => w(`UPDATE a SET v = v || '${c}' WHERE id % ${m} = 0`, 'a')),
  id.map((i) => w(`DELETE FROM a WHERE id = ${i}`, 'a', 'c')),
  fc.constant(w('DELETE FROM a', 'a', 'c')),
  {
    weight: 3,
    arbitrary: fc
      .tuple(bid, size, ch)
      .map(([i, l, c]) => w(`INSERT OR REPLACE INTO b(id, v) VALUES (${i}, ${text(l, c)})`, 'b')),
  },
  // Same length, new last characters: SQLite overwrites the payload in place, so only an overflow page changes.
  {
    weight: 3,
    arbitrary: fc
      .tuple(bid, n)
      .map(([i, v]) =>
        w(
          `UPDATE b SET v = substr(v, 1, length(v) - 4) || printf('%04d', ${v}) WHERE id = ${i} AND length(v) >= 4`,
          'b',
        ),
      ),
  },
  bid.map((i) => w(`DELETE FROM b WHERE id = ${i}`, 'b')),
  fc.tuple(id, n).map(([i, v]) => w(`INSERT OR REPLACE INTO c(k, v) VALUES ('a${i}', ${v % 30})`, 'c')),
  n.map((v) => w(`DELETE FROM c WHERE v > ${v % 30}`, 'c')),
  n.map((v) => w(`INSERT INTO d(v) VALUES (${v})`, 'd')),
  // More pages in one commit than the subscriptions watch (of a table none reads): the next look walks
  // every watched tree.
  fc
    .integer({ min: 260, max: 300 })
    .map((rows) =>
      w(
        `INSERT OR REPLACE INTO e(id, v) WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ${rows}) SELECT n, ${text(3000, 'x')} FROM s`,
        'e',
      ),
    ),
  // Fails (a duplicate key): the mutation is rejected and its writes roll back.
  fc.constant(w("INSERT INTO a(id, v) VALUES (100, 'x'), (100, 'y')", 'a')),
);

const schemaStatement: fc.Arbitrary<Statement> = fc.oneof(
  fc.constant(s('CREATE TABLE IF NOT EXISTS d(id INTEGER PRIMARY KEY, v)')),
  fc.constant(s('DROP TABLE IF EXISTS d')),
  n.map((v) => s(`ALTER TABLE c ADD COLUMN e${v % 4} DEFAULT ${v}`)),
  fc.constant(s('CREATE INDEX IF NOT EXISTS b_len ON b(length(v))')),
  fc.constant(s('DROP INDEX IF EXISTS b_len')),
  fc.constant(s('DROP VIEW IF EXISTS ab')),
  fc.constant(
    s('CREATE VIEW IF NOT EXISTS ab AS SELECT b.id, b.v, length(a.v) AS n FROM b LEFT JOIN a USING (id)'),
  ),
);

const statement = fc.oneof(
  { weight: 6, arbitrary: dataStatement },
  { weight: 1, arbitrary: schemaStatement },
);
const statements = fc.array(statement, { minLength: 1, maxLength: 3 });

type Step =
  | { readonly kind: 'local'; readonly statements: readonly Statement[] }
  | { readonly kind: 'remote'; readonly statements: readonly Statement[] }
  | { readonly kind: 'take'; readonly count: number }
  | { readonly kind: 'rebase' }
  | { readonly kind: 'snapshot' };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: statements.map((list) => ({ kind: 'local' as const, statements: list })) },
  { weight: 3, arbitrary: statements.map((list) => ({ kind: 'remote' as const, statements: list })) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 4 }).map((count) => ({ kind: 'take' as const, count })) },
  { weight: 3, arbitrary: fc.constant({ kind: 'rebase' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'snapshot' as const }) },
);

/** What a step may have written in the client's database. */
interface Written {
  readonly tables: Set<Table>;
  schema: boolean;
}

const none = (): Written => ({ tables: new Set(), schema: false });

function add(into: Written, list: readonly Statement[]): void {
  for (const statement of list) {
    for (const table of statement.writes) into.tables.add(table);
    if (statement.schema) into.schema = true;
  }
}

type Heard = { readonly rows: readonly Record<string, PlainValue>[] } | { readonly error: true };

async function runSteps(steps: readonly Step[]): Promise<void> {
  const authority: Authority = await openAuthority(SCHEMA);
  const client: Client = await openClient();
  const { document } = client;
  const heard = new Map<string, Heard>();
  for (const { sql } of SUBSCRIPTIONS) {
    document.subscribe(
      sql,
      [],
      (rows) => heard.set(sql, { rows }),
      () => heard.set(sql, { error: true }),
    );
  }
  /** Local mutations by lsn, and what the authority wrote since the client last rebased. */
  const local = new Map<number, readonly Statement[]>();
  let unseen = none();
  let authorityTook = -1;
  try {
    client.catchUp(authority);
    await settle();
    for (const [index, step] of steps.entries()) {
      const written = none();
      const before = new Map(client.runs);
      switch (step.kind) {
        case 'local': {
          const results = await document.mutateBatch(step.statements.map((st) => sqlPayload(st.sql)));
          for (const [i, result] of results.entries()) local.set(result.lsn, [step.statements[i]!]);
          add(written, step.statements);
          break;
        }
        case 'remote':
          authority.write(step.statements.map((st) => st.sql));
          add(unseen, step.statements);
          break;
        case 'take': {
          const taken = document.pendingAfter(authorityTook).slice(0, step.count);
          authority.take(taken);
          for (const m of taken) add(unseen, local.get(m.lsn) ?? []);
          authorityTook = taken.at(-1)?.lsn ?? authorityTook;
          break;
        }
        case 'rebase':
        case 'snapshot': {
          // The overlay is dropped and every pending mutation runs again on the new base.
          for (const m of document.pendingAfter(document.takenLsn())) add(written, local.get(m.lsn) ?? []);
          for (const table of unseen.tables) written.tables.add(table);
          written.schema ||= unseen.schema;
          unseen = none();
          if (step.kind === 'rebase') client.catchUp(authority);
          else client.snapshot(authority);
          break;
        }
      }
      await settle();
      const where = `step ${index} (${JSON.stringify(step)})`;
      for (const { sql, reads } of SUBSCRIPTIONS) {
        let fresh: Heard;
        try {
          fresh = { rows: client.query(sql) };
        } catch {
          fresh = { error: true };
        }
        expect(heard.get(sql), `${sql} is stale after ${where}`).toEqual(fresh);
        const reran = (client.runs.get(sql) ?? 0) - (before.get(sql) ?? 0);
        if (reads !== 'everything' && !written.schema && !reads.some((t) => written.tables.has(t))) {
          expect(reran, `${sql} re-ran after ${where}, which wrote ${[...written.tables]}`).toBe(0);
        }
      }
    }
    const total = SUBSCRIPTIONS.reduce((sum, { sql }) => sum + (client.runs.get(sql) ?? 0), 0);
    expect(document.subscriptionRuns).toBe(total);
  } finally {
    await document.close();
    authority.replica.close();
  }
}

test('subscriptions never go stale through mutations, rebases and schema changes, and re-run only when a table they read was written', async () => {
  const seed = fcSeed();
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 8, maxLength: 30, size: 'max' }), runSteps),
      {
        seed,
        numRuns: 25,
      },
    );
  } catch (error) {
    throw new Error(`subscription model failed; replay with FC_SEED=${seed}`, { cause: error });
  }
});
