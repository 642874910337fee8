import { expect, test } from 'vitest';
import { component, SQL_GUEST } from './reducer/fixtures.test-helpers.js';
import type { MutationEnvelope } from './reducer/host.js';
import { LIMIT_REASONS } from './reducer/limits.js';
import { loadReducer } from './reducer/prepare.js';
import { Replica } from './replica.js';

const sqlReducer = await loadReducer(await component(SQL_GUEST));
let replicas = 0;

async function replicaWithTable(): Promise<Replica> {
  const replica = await Replica.open({ name: `limits-${replicas++}`, reducer: sqlReducer });
  replica.transaction(() => replica.connection.exec('CREATE TABLE t(x)'));
  return replica;
}

const sql = (text: string, lsn = 0): MutationEnvelope => ({
  timelineId: 't',
  lsn,
  timestamp: 0,
  payload: new TextEncoder().encode(text),
});

test.each([
  "INSERT INTO t SELECT length(replace(hex(zeroblob(50000000)),'0','ab'))",
  'INSERT INTO t SELECT length(randomblob(400000000))',
  "INSERT INTO t SELECT length(printf('%.*c', 900000000, 'x'))",
  "INSERT INTO t SELECT length(replace(hex(zeroblob(4000000)),'0','ab'))",
])(
  'a statement building a value past SQLite’s length limit is rejected for its size, and the next mutation applies: %s',
  async (statement) => {
    const replica = await replicaWithTable();
    const outcomes = replica.applyBatch([sql(statement, 0), sql('INSERT INTO t VALUES (1)', 1)]);
    expect(outcomes).toEqual([{ ok: false, reason: LIMIT_REASONS['sql-size'] }, { ok: true }]);
    expect(replica.query('SELECT x FROM t')).toEqual([{ x: 1 }]);
    replica.close();
  },
);

test('the structural limits are the same on every connection: an expression nested past EXPR_DEPTH is an error the guest sees', async () => {
  const replica = await replicaWithTable();
  const deep = `INSERT INTO t VALUES (1${' + 1'.repeat(200)})`;
  const [outcome] = replica.applyBatch([sql(deep)]);
  expect(outcome).toEqual({ ok: false, reason: expect.stringMatching(/too large \(maximum depth 100\)/) });
  replica.close();
});

test.each(['total_changes()', 'changes()', 'last_insert_rowid()', 'TOTAL_CHANGES()'])(
  'a reducer cannot read the connection history through %s, so a batch writes what its mutations write alone',
  async (call) => {
    // The third mutation traps its run, which is rolled back and run again without it: the first run's
    // writes are gone, but total_changes() and friends still count them.
    const batch = [
      sql('INSERT INTO t VALUES (10)', 0),
      sql(`INSERT INTO t SELECT ${call}`, 1),
      sql('INSERT INTO t SELECT randomblob(400000000)', 2),
    ];
    const batched = await replicaWithTable();
    const outcomes = batched.applyBatch(batch);
    expect(outcomes[1]).toEqual({ ok: false, reason: expect.stringMatching(/^not authorized: .*history/) });
    const alone = await replicaWithTable();
    for (const m of batch) alone.applyBatch([m]);
    const rows = 'SELECT rowid, x FROM t ORDER BY rowid';
    expect(batched.query(rows)).toEqual(alone.query(rows));
    batched.close();
    alone.close();
  },
);
