// Every way SQLite can end a transaction on its own, in the middle of a batch: the mutation that
// caused it is rejected with a reason that does not depend on batching, and the rest of the batch
// applies exactly as if it had never been sent.
import { expect, test } from 'vitest';
import { component, SQL_GUEST } from './reducer/fixtures.test-helpers.js';
import type { MutationEnvelope } from './reducer/host.js';
import { LIMIT_REASONS } from './reducer/limits.js';
import { loadReducer } from './reducer/prepare.js';
import { Replica } from './replica.js';
import { PageStore } from './vfs/page-store.js';

const STEPS = 1_000_000;
// Each mutation's payload is one SQL statement; its error, if any, is the mutation's rejection.
const reducer = await loadReducer(await component(SQL_GUEST), { limits: { sqlStepsPerMutation: STEPS } });

/** A page store whose device holds `capacity` pages: writing past it fails (SQLite sees SQLITE_IOERR_WRITE). */
class SmallDisk extends PageStore {
  constructor(private readonly capacity: number) {
    super();
  }
  override write(pgno: number, bytes: Uint8Array): void {
    if (pgno > this.capacity) throw new Error(`no room for page ${pgno}`);
    super.write(pgno, bytes);
  }
}

interface Way {
  readonly name: string;
  /** Host statements run before the batch, on every replica of the case. */
  readonly setup: string;
  /** Pragmas of this connection (not part of the pages). */
  readonly pragmas?: string;
  readonly store?: () => PageStore;
  /** The offending mutation. */
  readonly bad: string;
  readonly reason: string;
}

const WAYS: readonly Way[] = [
  {
    name: 'an INSERT past the SQL step budget (interrupted by the progress handler)',
    setup: '',
    bad: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<3000000) INSERT INTO t SELECT x FROM c',
    reason: LIMIT_REASONS['sql-steps'],
  },
  {
    name: 'an UPDATE past the SQL step budget',
    setup:
      'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<20000) INSERT INTO big SELECT x FROM c',
    bad: 'UPDATE big SET y = (SELECT count(*) FROM big AS b WHERE b.y <= big.y)',
    reason: LIMIT_REASONS['sql-steps'],
  },
  {
    name: 'RAISE(ROLLBACK) in a trigger',
    setup:
      "CREATE TRIGGER no13 BEFORE INSERT ON t WHEN NEW.x = 13 BEGIN SELECT RAISE(ROLLBACK, 'thirteen is refused'); END",
    bad: 'INSERT INTO t VALUES (13)',
    reason: 'transaction aborted by sqlite: thirteen is refused',
  },
  {
    name: 'a constraint declared ON CONFLICT ROLLBACK',
    setup: 'CREATE TABLE u(k UNIQUE ON CONFLICT ROLLBACK); INSERT INTO u VALUES (1)',
    bad: 'INSERT INTO u VALUES (1)',
    reason: 'transaction aborted by sqlite: UNIQUE constraint failed: u.k',
  },
  {
    name: 'INSERT OR ROLLBACK over a conflict',
    setup: 'CREATE TABLE u(k PRIMARY KEY); INSERT INTO u VALUES (1)',
    bad: 'INSERT OR ROLLBACK INTO u VALUES (1)',
    reason: 'transaction aborted by sqlite: UNIQUE constraint failed: u.k',
  },
  {
    name: 'SQLITE_FULL (max_page_count)',
    setup: '',
    pragmas: 'PRAGMA max_page_count = 40',
    bad: 'INSERT INTO t SELECT randomblob(400000)',
    reason: 'transaction aborted by sqlite: database or disk is full',
  },
  {
    name: 'an I/O error while SQLite spills its cache',
    setup: '',
    pragmas: 'PRAGMA cache_size = 10',
    store: () => new SmallDisk(60),
    bad: 'INSERT INTO t SELECT randomblob(1000000)',
    reason: 'transaction aborted by sqlite: disk I/O error',
  },
];

let replicas = 0;

async function replicaFor(way: Way): Promise<Replica> {
  const store = way.store?.();
  const replica = await Replica.open({
    name: `aborts-${replicas++}`,
    reducer,
    ...(store && { store }),
  });
  replica.transaction(() => {
    replica.connection.exec('CREATE TABLE t(x); CREATE TABLE big(y)');
    if (way.setup !== '') replica.connection.exec(way.setup);
  });
  if (way.pragmas !== undefined) replica.connection.exec(way.pragmas);
  return replica;
}

const sql = (text: string, lsn: number): MutationEnvelope => ({
  timelineId: 't',
  lsn,
  timestamp: 1_000 + lsn,
  payload: new TextEncoder().encode(text),
});

/** Innocent mutations around the bad one, at lsn 0 … 6 with the bad one at `at`. */
function batchWith(bad: string, at: number): MutationEnvelope[] {
  const batch: MutationEnvelope[] = [];
  for (let lsn = 0; lsn < 7; lsn++) batch.push(sql(lsn === at ? bad : `INSERT INTO t VALUES (${lsn})`, lsn));
  return batch;
}

const ok = { ok: true };

test.each(WAYS)(
  'a mutation that makes SQLite end the transaction is rejected with its reason, and the rest of its batch applies as if it had never been sent: $name',
  async (way) => {
    for (const at of [0, 3, 6]) {
      const batch = batchWith(way.bad, at);
      const replica = await replicaFor(way);
      const outcomes = replica.applyBatch(batch);
      expect(outcomes).toEqual(batch.map((_, i) => (i === at ? { ok: false, reason: way.reason } : ok)));
      expect(replica.query('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);

      const without = await replicaFor(way);
      expect(without.applyBatch(batch.filter((_, i) => i !== at))).toEqual(Array(6).fill(ok));
      expect(await replica.pageHash()).toBe(await without.pageHash());

      // Alone, in its own batch, the same verdict; and the document keeps working.
      expect(replica.applyBatch([sql(way.bad, 7)])).toEqual([{ ok: false, reason: way.reason }]);
      expect(replica.applyBatch([sql('INSERT INTO t VALUES (8)', 8)])).toEqual([ok]);
      expect(replica.query('SELECT count(*) AS n FROM t WHERE x <= 8')).toEqual([{ n: 7 }]);
      replica.close();
      without.close();
    }
  },
  60_000,
);

test('several mutations ending the transaction in one batch are each rejected alone', async () => {
  const way = WAYS[2]!;
  const texts = [
    'INSERT INTO t VALUES (1)',
    way.bad,
    WAYS[0]!.bad,
    'INSERT INTO t VALUES (2)',
    way.bad,
    'INSERT INTO t VALUES (3)',
  ];
  const replica = await replicaFor(way);
  const outcomes = replica.applyBatch(texts.map(sql));
  expect(outcomes).toEqual([
    ok,
    { ok: false, reason: way.reason },
    { ok: false, reason: LIMIT_REASONS['sql-steps'] },
    ok,
    { ok: false, reason: way.reason },
    ok,
  ]);
  expect(replica.query('SELECT x FROM t ORDER BY x')).toEqual([{ x: 1 }, { x: 2 }, { x: 3 }]);
  replica.close();
});
