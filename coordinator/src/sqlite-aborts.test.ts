import { readFile } from 'node:fs/promises';
import { LIMIT_REASONS, type Push, type ServerMessage } from '@tandem/runtime';
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { type Coordinator, startCoordinator } from './server.js';
import { TestSyncClient } from './testing/sync-client.js';

// The limits fixture: {"op": "write"} records its lsn; {"op": "sql", "q"} runs q first.
const reducer = new Uint8Array(
  await readFile(new URL('../../e2e/fixtures/limits-reducer/dist/reducer.wasm', import.meta.url)),
);
let coordinator: Coordinator;

beforeAll(async () => {
  coordinator = await startCoordinator({ reducer, port: 0, workers: 1 });
});
afterAll(() => coordinator.close());

function push(from: number, bodies: readonly object[]): Push {
  return {
    type: 'push',
    mutations: bodies.map((body, i) => ({
      lsn: from + i,
      timestamp: 1_700_000_000_000 + from + i,
      payload: new TextEncoder().encode(JSON.stringify(body)),
    })),
  };
}
/**
 * The next message of `type` that `match` accepts; waits longer than TestSyncClient.next, since each
 * runaway mutation runs twice to the step budget (tentatively, then its verdict run) on a busy machine.
 */
async function awaitMessage<T extends ServerMessage['type']>(
  client: TestSyncClient,
  type: T,
  match: (m: Extract<ServerMessage, { type: T }>) => boolean = () => true,
): Promise<Extract<ServerMessage, { type: T }>> {
  const found = (m: ServerMessage): m is Extract<ServerMessage, { type: T }> =>
    m.type === type && match(m as Extract<ServerMessage, { type: T }>);
  await vi.waitFor(
    () => {
      if (!client.received.some(found)) throw new Error(`no ${type} message yet`);
    },
    { timeout: 60_000, interval: 20 },
  );
  return client.received.find(found)!;
}

const write = { op: 'write' };
// SQLite rolls the whole transaction back when the step budget interrupts this write.
const runaway = {
  op: 'sql',
  q: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<3000000) INSERT INTO applied SELECT x + 1000000, 0 FROM c',
};

test('a client pushing a write SQLite aborts gets it rejected, and neither the document nor another client is harmed', async () => {
  const docId = 'aborts';
  const a = await TestSyncClient.connect(coordinator.url, { docId, timelineId: 'a' });
  const b = await TestSyncClient.connect(coordinator.url, { docId, timelineId: 'b' });
  const head = (await awaitMessage(a, 'welcome')).head;
  await awaitMessage(b, 'welcome');
  const closes: string[] = [];
  void a.closed.then((c) => closes.push(`a ${c.code}`));
  void b.closed.then((c) => closes.push(`b ${c.code}`));

  // The fixture records each mutation's lsn alone: b's lsn 0 is free since a's is rejected.
  a.send(push(0, [runaway, write, write]));
  const result = await awaitMessage(a, 'push-result');
  expect(result).toMatchObject({
    appliedLsn: 2,
    frameLsn: head,
    rejected: [{ lsn: 0, reason: LIMIT_REASONS['sql-steps'] }],
    refused: null,
  });
  // Again, on its own: one client cannot keep failing the document.
  a.send(push(3, [runaway]));
  expect(await awaitMessage(a, 'push-result', (r) => r.appliedLsn === 3)).toMatchObject({
    rejected: [{ lsn: 3, reason: LIMIT_REASONS['sql-steps'] }],
  });

  b.send(push(0, [write]));
  expect(await awaitMessage(b, 'push-result')).toMatchObject({ appliedLsn: 0, rejected: [], refused: null });
  await b.reach(head + 2);
  await a.reach(head + 2);
  expect(await b.hash()).toBe(await coordinator.pageHash(docId));
  expect(await a.hash()).toBe(await coordinator.pageHash(docId));
  expect([...a.violations, ...b.violations]).toEqual([]);
  expect(closes).toEqual([]);
  await Promise.all([a.close(), b.close()]);
}, 180_000);
