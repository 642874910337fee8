// Two coordinator processes on one PostgreSQL: one owner per document, and a paused owner fenced.
import { expect, test } from 'vitest';
import { startCoordinatorProcess } from '../testing/coordinator-bin.js';
import { counter, createTodos, ownedBy } from '../testing/pushes.js';
import { TestSyncClient } from '../testing/sync-client.js';
import { usePostgresCluster } from '../testing/use-postgres-cluster.js';

const LEASE_MS = 1500;

const cluster = usePostgresCluster();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('an owner paused past its lease is fenced: another takes over and accepts writes, the old one writes nothing, no fork', async () => {
  const store = cluster().createDatabase('failover');
  const args = ['--store', store, '--lease-ms', String(LEASE_MS)];
  const [a, b] = await Promise.all([startCoordinatorProcess(args), startCoordinatorProcess(args)]);
  try {
    // `a` owns the document: its client's writes are confirmed.
    const first = await TestSyncClient.connect(a.url, { docId: 'doc', timelineId: 'first' });
    await first.next('welcome');
    first.send(createTodos(0, 3, 'a', 'a'));
    expect(await first.next('push-result', (r) => r.appliedLsn === 2)).toMatchObject({ appliedLsn: 2 });
    expect(await ownedBy(a.url)).toEqual(['doc']);
    expect(await counter(a.url, 'tandem_leases_taken_total')).toBe(1);

    // While `a` holds it, `b` redirects a client to `a` (protocol v6), and tells a v5 client, which
    // cannot follow, to retry after the lease's remaining time.
    const early = await TestSyncClient.connect(b.url, { docId: 'doc', timelineId: 'second' });
    expect(await early.next('redirect')).toMatchObject({ url: `${a.url.replace(/^http/, 'ws')}/sync` });
    expect(early.received.map((m) => m.type)).toEqual(['redirect']);
    await early.closed;
    const old = await TestSyncClient.connect(b.url, {
      docId: 'doc',
      timelineId: 'second',
      protocolVersion: 5,
    });
    expect(await old.next('error')).toMatchObject({ kind: 'document-unavailable' });
    expect((await old.next('error')).retryAfterMs).toBeGreaterThan(0);
    await old.closed;
    expect(await counter(b.url, 'tandem_redirects_total')).toBe(1);

    // `a` freezes past its lease: `b` takes the document over from PostgreSQL and accepts writes.
    a.child.kill('SIGSTOP');
    await sleep(LEASE_MS + 500);
    const second = await TestSyncClient.connect(b.url, { docId: 'doc', timelineId: 'second' });
    const welcome = await second.next('welcome');
    second.send(createTodos(0, 2, 'b', 'b'));
    const accepted = await second.next('push-result', (r) => r.appliedLsn === 1);
    expect(await ownedBy(b.url)).toEqual(['doc']);
    expect(await counter(b.url, 'tandem_leases_taken_total')).toBe(1);

    // `a` wakes up and its client pushes again: nothing is written, the client is told to go.
    a.child.kill('SIGCONT');
    first.send(createTodos(3, 2, 'a', 'a'));
    const refused = await first.next('error');
    expect(refused.kind).toBe('document-unavailable');
    await first.closed;
    expect(first.received.filter((m) => m.type === 'push-result' && (m.appliedLsn ?? -1) > 2)).toEqual([]);
    await sleep(LEASE_MS / 2);
    expect(await counter(a.url, 'tandem_leases_lost_total')).toBe(1);
    expect(await ownedBy(a.url)).toEqual([]);

    // One history: `b`'s head follows `a`'s confirmed frames, the first client's marker stayed at 2,
    // and a client catching up from scratch on `b` converges with `b`'s pages.
    const check = await TestSyncClient.connect(b.url, { docId: 'doc', timelineId: 'first' });
    const reached = await check.next('welcome');
    expect(reached.appliedLsn).toBe(2);
    expect(reached.journalId).toBe(welcome.journalId);
    expect(reached.head).toBe((accepted.frameLsn ?? -1) + 1);
    await check.reach(reached.head);
    expect(check.violations).toEqual([]);
    second.send(createTodos(2, 1, 'b', 'b'));
    await check.reach(reached.head + 1);
    await second.reach(reached.head + 1);
    expect(await check.hash()).toBe(await second.hash());
    await Promise.all([check.close(), second.close()]);
  } finally {
    a.child.kill('SIGCONT');
    a.child.kill('SIGKILL');
    b.child.kill('SIGKILL');
  }
}, 60_000);
