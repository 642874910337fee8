// PostgreSQL restarted under a coordinator: while it is down nothing is acknowledged, then service
// resumes, and nothing acknowledged before is missing.

import { readFile } from 'node:fs/promises';
import { expect, test } from 'vitest';
import { startCoordinator } from '../server.js';
import { createTodos } from '../testing/pushes.js';
import { TestSyncClient } from '../testing/sync-client.js';
import { usePostgresCluster } from '../testing/use-postgres-cluster.js';

const reducer = new Uint8Array(
  await readFile(new URL('../../../reducers/todo/dist/reducer.wasm', import.meta.url)),
);

const cluster = usePostgresCluster();

/** The first welcome or error a new connection gets (the other one never comes). */
async function greeting(url: string, timelineId: string) {
  const client = await TestSyncClient.connect(url, { docId: 'doc', timelineId });
  const welcome = client.next('welcome');
  const error = client.next('error');
  welcome.catch(() => undefined);
  error.catch(() => undefined);
  return { client, first: await Promise.race([welcome, error]) };
}

test('with PostgreSQL down nothing is acknowledged; once it is back the coordinator serves on and nothing acknowledged is lost', async () => {
  const coordinator = await startCoordinator({
    reducer,
    port: 0,
    workers: 1,
    store: cluster().createDatabase('restarted'),
    leaseMs: 1000,
  });
  try {
    const { client, first } = await greeting(coordinator.url, 'w');
    expect(first.type).toBe('welcome');
    client.send(createTodos(0, 5));
    await client.next('push-result', (r) => r.appliedLsn === 4);

    await cluster().stop();
    client.send(createTodos(5, 3));
    const failed = await client.next('error');
    expect(['internal', 'document-unavailable']).toContain(failed.kind);
    expect(failed.retryAfterMs).toBeGreaterThan(0);
    await client.closed;
    expect(client.received.filter((m) => m.type === 'push-result' && (m.appliedLsn ?? -1) > 4)).toEqual([]);
    // A client arriving meanwhile is told to retry, not welcomed on a document that cannot be written.
    const meanwhile = await greeting(coordinator.url, 'other');
    expect(meanwhile.first).toMatchObject({ type: 'error' });
    await meanwhile.client.closed;

    await cluster().start();
    let back: Awaited<ReturnType<typeof greeting>>;
    for (;;) {
      back = await greeting(coordinator.url, 'w');
      if (back.first.type === 'welcome') break;
      await back.client.closed;
      await new Promise((resolve) =>
        setTimeout(resolve, back.first.type === 'error' ? (back.first.retryAfterMs ?? 300) : 300),
      );
    }
    const welcome = back.first;
    // What was acknowledged is there; what was not may or may not be (never half of a push).
    expect([4, 7]).toContain(welcome.appliedLsn);
    const from = (welcome.appliedLsn ?? -1) + 1;
    back.client.send(createTodos(from, 2));
    await back.client.next('push-result', (r) => r.appliedLsn === from + 1);
    await back.client.reach(welcome.head + 1);
    expect(await back.client.hash()).toBe(await coordinator.pageHash('doc'));
    await back.client.close();
  } finally {
    await coordinator.close();
  }
}, 60_000);
