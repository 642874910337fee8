// A guest's statements are prepared once and reused across the mutations of a batch and across batches
// (Connection's cache, keyed by the SQL text the host lifts again as the same string): a statement
// that failed, was interrupted or trapped in one mutation, whose writes were rolled back, must run
// afresh in the next as if it had just been prepared.
import { expect, test } from 'vitest';
import { component, SQL_GUEST } from './reducer/fixtures.test-helpers.js';
import type { MutationEnvelope } from './reducer/host.js';
import { LIMIT_REASONS } from './reducer/limits.js';
import { loadReducer } from './reducer/prepare.js';
import { Replica } from './replica.js';

const sqlReducer = await loadReducer(await component(SQL_GUEST));
let replicas = 0;

const SCHEMA = `CREATE TABLE u (x INTEGER PRIMARY KEY);
  CREATE TABLE src (x INTEGER);
  INSERT INTO src VALUES (1), (2), (3);
  CREATE TABLE lim (n INTEGER);
  INSERT INTO lim VALUES (1000000000);
  CREATE TABLE t (x)`;

async function replica(): Promise<Replica> {
  const r = await Replica.open({ name: `statements-${replicas++}`, reducer: sqlReducer });
  r.transaction(() => r.connection.exec(SCHEMA));
  return r;
}

const sql = (text: string, lsn: number): MutationEnvelope => ({
  timelineId: 't',
  lsn,
  timestamp: 0,
  payload: new TextEncoder().encode(text),
});

/** Applies `texts` as one batch, and one mutation per batch elsewhere: same outcomes, rows and pages. */
async function batchedAndAlone(texts: readonly string[]) {
  const batch = texts.map((text, i) => sql(text, i));
  const batched = await replica();
  const outcomes = batched.applyBatch(batch);
  const alone = await replica();
  const aloneOutcomes = batch.map((m) => alone.applyBatch([m])[0]);
  expect(outcomes).toEqual(aloneOutcomes);
  const rows = 'SELECT (SELECT group_concat(x) FROM u) AS u, (SELECT group_concat(x) FROM t) AS t';
  const result = { outcomes, rows: batched.query(rows)[0] };
  expect(alone.query(rows)[0]).toEqual(result.rows);
  expect(await batched.pageHash()).toBe(await alone.pageHash());
  batched.close();
  alone.close();
  return result;
}

const COPY = 'INSERT INTO u SELECT x FROM src';

test('a statement that failed part-way in one mutation (its writes rolled back) runs whole in a later one', async () => {
  const { outcomes, rows } = await batchedAndAlone([
    'INSERT INTO u VALUES (2)',
    COPY, // fails on x = 2 after inserting 1: rejected, nothing of it stays
    'DELETE FROM u',
    COPY,
    COPY, // fails on its first row
  ]);
  expect(outcomes.map((o) => o.ok)).toEqual([true, false, true, true, false]);
  expect(outcomes[1]).toEqual({ ok: false, reason: expect.stringMatching(/UNIQUE constraint failed/) });
  expect(rows).toEqual({ u: '1,2,3', t: null });
});

const COUNT =
  'INSERT INTO t WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < (SELECT n FROM lim)) SELECT count(*) FROM c';

test('a statement interrupted past the step budget (its run trapped and was rolled back) counts afresh when the run is retried', async () => {
  // The first run traps in its fourth mutation; the runs that follow reuse COUNT, which was interrupted.
  const { outcomes, rows } = await batchedAndAlone([
    'UPDATE lim SET n = 5',
    COUNT,
    'UPDATE lim SET n = 1000000000',
    COUNT, // runs out of SQL steps: its run traps, the mutation is rejected by a verdict run
    'UPDATE lim SET n = 7',
    COUNT,
  ]);
  expect(outcomes).toEqual([
    { ok: true },
    { ok: true },
    { ok: true },
    { ok: false, reason: LIMIT_REASONS['sql-steps'] },
    { ok: true },
    { ok: true },
  ]);
  expect(rows).toEqual({ u: null, t: '5,7' });
});

test('a statement cached by one batch runs afresh in the next batch, after a batch whose run trapped on it', async () => {
  const r = await replica();
  expect(r.applyBatch([sql('UPDATE lim SET n = 3', 0), sql(COUNT, 1)])).toEqual([{ ok: true }, { ok: true }]);
  expect(
    r.applyBatch([sql('UPDATE lim SET n = 1000000000', 2), sql(COUNT, 3), sql('UPDATE lim SET n = 4', 4)]),
  ).toEqual([{ ok: true }, { ok: false, reason: LIMIT_REASONS['sql-steps'] }, { ok: true }]);
  expect(r.applyBatch([sql(COUNT, 5)])).toEqual([{ ok: true }]);
  expect(r.query('SELECT group_concat(x) AS t FROM t')).toEqual([{ t: '3,4' }]);
  r.close();
});
