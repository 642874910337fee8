// Entropy is bound lazily (capture-vfs.ts invariant 6, replica.ts invariant 2): a mutation pays for SQLite's
// PRNG only when it draws, and what it draws does not depend on its neighbours in the batch.
import { expect, test } from 'vitest';
import { sqlPayload, sqlReducer } from './reactive/documents.test-helpers.js';
import { Replica } from './replica.js';
import { loadSqlite } from './sqlite/sqlite.js';
import { installCaptureVfs } from './vfs/capture-vfs.js';

const vfs = installCaptureVfs(await loadSqlite());

const envelope = (lsn: number, sql: string) => ({
  timelineId: 'entropy-timeline',
  lsn,
  timestamp: 1_700_000_000_000 + lsn,
  payload: sqlPayload(sql),
});

const QUIET = "INSERT INTO t(x, at) VALUES (1, datetime('now'))";
const LOUD = "INSERT INTO t(x, at) VALUES (random(), hex(randomblob(12))), (random(), datetime('now'))";

async function open(name: string): Promise<Replica> {
  const replica = await Replica.open({ name, reducer: sqlReducer });
  expect(replica.applyBatch([envelope(0, 'CREATE TABLE t(x, at)')])).toEqual([{ ok: true }]);
  return replica;
}

test("a batch of mutations that draw nothing leaves SQLite's PRNG alone: no reseed, and no reset past the batch's first", async () => {
  const replica = await open('entropy-quiet');
  const before = { ...vfs.entropyCounts };
  const batch = Array.from({ length: 200 }, (_, i) => envelope(i + 1, QUIET));
  expect(replica.applyBatch(batch).every((o) => o.ok)).toBe(true);
  expect(vfs.entropyCounts.reseeds).toBe(before.reseeds);
  expect(vfs.entropyCounts.resets - before.resets).toBeLessThanOrEqual(1);
  replica.close();
});

test('in a batch, each mutation that draws reseeds once from its own envelope, and draws what it draws alone', async () => {
  const plan = Array.from({ length: 30 }, (_, i) => (i % 3 === 1 ? LOUD : QUIET));
  const batched = await open('entropy-batched');
  const before = { ...vfs.entropyCounts };
  batched.applyBatch(plan.map((sql, i) => envelope(i + 1, sql)));
  const loud = plan.filter((sql) => sql === LOUD).length;
  expect(vfs.entropyCounts.reseeds - before.reseeds).toBe(loud);
  expect(vfs.entropyCounts.resets - before.resets).toBeLessThanOrEqual(loud + 1);

  const alone = await open('entropy-alone');
  for (const [i, sql] of plan.entries()) alone.applyBatch([envelope(i + 1, sql)]);
  const rows = (replica: Replica) => replica.query('SELECT rowid, x, at FROM t ORDER BY rowid');
  expect(rows(batched).filter((row) => row.x !== 1)).toHaveLength(2 * loud);
  expect(rows(alone)).toEqual(rows(batched));
  expect(await alone.pageHash()).toBe(await batched.pageHash());
  batched.close();
  alone.close();
});
