// A mutation whose statement SQLite aborts (it ends the transaction on its own) is that mutation's
// rejection on the client and on the authority alike, and nothing around it is lost: not the rest of
// its batch, not the document, not a persisted document's next open.
import { readFile } from 'node:fs/promises';
import { schemaLifecycle } from '@tandem/migrations';
import { LIMIT_REASONS, MemoryByteStore, type MutationEnvelope } from '@tandem/runtime';
import { openLocalDocument } from '@tandem/runtime/local';
import { loadReducer } from '@tandem/runtime/prepare';
import { expect, test } from 'vitest';
import { AuthorityDocument } from './authority-document.js';

// The limits fixture: {"op": "write"} records its lsn in `applied`; {"op": "sql", "q"} runs q first.
const reducer = await loadReducer(
  await readFile(new URL('../../../e2e/fixtures/limits-reducer/dist/reducer.wasm', import.meta.url)),
  { limits: { sqlStepsPerMutation: 500_000 } },
);

const write = { op: 'write' };
const sql = (q: string) => ({ op: 'sql', q });
const RUNAWAY_INSERT = sql(
  'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<3000000) INSERT INTO applied SELECT x + 1000000, 0 FROM c',
);
const TRIGGER = sql(
  "CREATE TRIGGER no_big BEFORE INSERT ON applied WHEN NEW.result > 100 BEGIN SELECT RAISE(ROLLBACK, 'too big'); END",
);
/** Every way, each behind and before innocent writes; lsn 0 is a write, so lsn 0 conflicts. */
const BATCH = [
  write,
  TRIGGER,
  write,
  RUNAWAY_INSERT,
  write,
  sql('INSERT INTO applied VALUES (999, 101)'),
  write,
  sql('INSERT OR ROLLBACK INTO applied VALUES (0, 0)'),
  write,
];
const EXPECTED = [
  'ok',
  'ok',
  'ok',
  LIMIT_REASONS['sql-steps'],
  'ok',
  'transaction aborted by sqlite: too big',
  'ok',
  'transaction aborted by sqlite: UNIQUE constraint failed: applied.lsn',
  'ok',
];
const ROWS = 'SELECT lsn, result FROM applied ORDER BY lsn';

const envelope = (lsn: number, body: object): MutationEnvelope => ({
  timelineId: 'client',
  lsn,
  timestamp: 1_000 + lsn,
  payload: new TextEncoder().encode(JSON.stringify(body)),
});

let docs = 0;

test('the client and the authority reject the same mutations SQLite aborts, with the same reasons, and apply the rest', async () => {
  const docId = `aborts-${++docs}`;
  const client = await openLocalDocument({ schema: schemaLifecycle, docId, reducer, timelineId: 'client' });
  const local = await client.mutateBatch(BATCH);
  expect(local.map((r) => (r.status === 'applied' ? 'ok' : r.reason))).toEqual(EXPECTED);

  const authority = await AuthorityDocument.open({ docId, reducer });
  const report = await authority.push([
    { timelineId: 'client', mutations: BATCH.map((body, lsn) => envelope(lsn, body)) },
  ]);
  const [result] = report.results;
  expect(result).toMatchObject({ status: 'accepted', appliedLsn: BATCH.length - 1 });
  const outcomes = result?.status === 'accepted' ? result.outcomes : [];
  expect(outcomes.map((o) => (o.ok ? 'ok' : o.reason))).toEqual(EXPECTED);
  expect(authority.query(ROWS)).toEqual(await client.query(ROWS));
  expect(authority.query('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);

  // The authority goes on: the next push applies.
  const next = await authority.push([{ timelineId: 'client', mutations: [envelope(BATCH.length, write)] }]);
  expect(next.results[0]).toMatchObject({ status: 'accepted', outcomes: [{ ok: true }] });
  await authority.close();
  await client.close();
});

test('a persisted document whose pending mutations include one SQLite aborts reopens with the same outcomes, and keeps working', async () => {
  const docId = `aborts-${++docs}`;
  const storage = new MemoryByteStore();
  const first = await openLocalDocument({
    schema: schemaLifecycle,
    docId,
    reducer,
    timelineId: 'client',
    storage,
  });
  const results = await first.mutateBatch(BATCH);
  expect(results.map((r) => (r.status === 'applied' ? 'ok' : r.reason))).toEqual(EXPECTED);
  const rows = await first.query(ROWS);
  const hash = await first.pageHash();
  await first.close();

  const again = await openLocalDocument({
    schema: schemaLifecycle,
    docId,
    reducer,
    timelineId: 'client',
    storage,
  });
  expect(await again.query(ROWS)).toEqual(rows);
  expect(await again.pageHash()).toBe(hash);
  expect(await again.query('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
  expect(await again.mutate(RUNAWAY_INSERT)).toMatchObject({
    status: 'rejected',
    reason: LIMIT_REASONS['sql-steps'],
  });
  expect(await again.mutate(write)).toMatchObject({ status: 'applied' });
  await again.close();
});
