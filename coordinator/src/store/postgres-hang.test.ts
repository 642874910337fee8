// PostgreSQL hangs under two coordinators (SIGSTOP to its processes: connections open, nothing
// answers): the owner gives its leases up on its own clock, its clients are told to retry, and once
// PostgreSQL goes on the coordinators settle on one owner per document with nothing acknowledged lost.
import { readFile } from 'node:fs/promises';
import type { ErrorMessage } from '@tandem/runtime';
import { expect, test } from 'vitest';
import { startCoordinator } from '../server.js';
import { connectToOwner } from '../testing/coordinator-bin.js';
import { counter, createTodos, ownedBy } from '../testing/pushes.js';
import { TestSyncClient } from '../testing/sync-client.js';
import { usePostgresCluster } from '../testing/use-postgres-cluster.js';

const reducer = new Uint8Array(
  await readFile(new URL('../../../reducers/todo/dist/reducer.wasm', import.meta.url)),
);
const LEASE_MS = 1500;
/** What the owner may take past its lease to tell its clients: the lease's safety margin is inside it. */
const TELL_SLACK_MS = 1000;

const cluster = usePostgresCluster();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('a hung PostgreSQL makes the owner give its leases up within the lease: its clients get a retryable error, and after it resumes one owner serves each document with nothing acknowledged lost', async () => {
  const store = cluster().createDatabase('hung');
  const options = { reducer, port: 0, workers: 1, store, leaseMs: LEASE_MS };
  const a = await startCoordinator(options);
  const b = await startCoordinator(options);
  const docIds = ['one', 'two'];
  try {
    const clients = await Promise.all(
      docIds.map(async (docId) => {
        const client = await TestSyncClient.connect(a.url, { docId, timelineId: `w-${docId}` });
        await client.next('welcome');
        client.send(createTodos(0, 3, `${docId}-`));
        await client.next('push-result', (r) => r.appliedLsn === 2);
        return client;
      }),
    );
    expect(await ownedBy(a.url)).toEqual(docIds);

    cluster().pause();
    const pausedAt = performance.now();
    let told: number[];
    try {
      // A push now hangs in PostgreSQL; the owner must not hang with it.
      for (const client of clients) client.send(createTodos(3, 2, 'late-'));
      const errors = await Promise.race([
        Promise.all(
          clients.map(async (client) => {
            const error: ErrorMessage = await client.next('error');
            return { error, at: performance.now() - pausedAt };
          }),
        ),
        sleep(LEASE_MS + 5000).then(() => undefined),
      ]);
      expect(errors, 'no error reached the clients while PostgreSQL hung').toBeDefined();
      told = errors!.map(({ at }) => Math.round(at));
      for (const { error } of errors!) {
        expect(error.kind).toBe('document-unavailable');
        expect(error.retryAfterMs).toBeGreaterThan(0);
      }
      expect(Math.max(...told), `told after ${told.join(', ')} ms`).toBeLessThan(LEASE_MS + TELL_SLACK_MS);
      // Lost by the clock, counted and no longer owned, all while PostgreSQL still does not answer.
      expect(await counter(a.url, 'tandem_leases_lost_total')).toBe(docIds.length);
      expect(await ownedBy(a.url)).toEqual([]);
      await sleep(Math.max(0, LEASE_MS + 300 - (performance.now() - pausedAt)));
    } finally {
      cluster().resume();
    }
    for (const client of clients) {
      await client.closed;
      // The pushes sent while it hung were never acknowledged.
      expect(client.received.filter((m) => m.type === 'push-result' && (m.appliedLsn ?? -1) > 2)).toEqual([]);
    }

    // The clients come back, each starting at the other coordinator; one owner each, nothing lost.
    const urls = [b.url, a.url];
    for (const docId of docIds) {
      const writer = await connectToOwner(urls, 0, docId, `w-${docId}`, 40);
      expect(writer.welcome.appliedLsn, docId).toBeGreaterThanOrEqual(2);
      const from = (writer.welcome.appliedLsn ?? -1) + 1;
      writer.client.send(createTodos(from, 1, `${docId}-`));
      await writer.client.next('push-result', (r) => r.appliedLsn === from);
      const reader = await connectToOwner(urls, 1, docId, `r-${docId}`, 40);
      expect(reader.url).toBe(writer.url);
      await reader.client.reach(writer.welcome.head + 1);
      await writer.client.reach(writer.welcome.head + 1);
      expect(await reader.client.hash()).toBe(await writer.client.hash());
      expect(reader.client.violations).toEqual([]);
      await Promise.all([reader.client.close(), writer.client.close()]);
    }
    const owned = [...(await ownedBy(a.url)), ...(await ownedBy(b.url))].sort();
    expect(owned).toEqual(docIds);
  } finally {
    cluster().resume();
    await Promise.all([a.close(), b.close()]);
  }
}, 60_000);
