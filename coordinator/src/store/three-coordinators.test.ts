// Three coordinator processes on one PostgreSQL (issue 13 must-show 1): 30 documents, 10 Node clients
// (host-node documents in child processes), each client given the three URLs in its own order. A client
// reaching a coordinator that does not own its document is redirected to the owner; every document has
// exactly one owner, and every client's pages converge with what a fresh client reads from the owner.
import { expect, test } from 'vitest';
import { startCoordinatorProcess } from '../testing/coordinator-bin.js';
import { type DocumentReport, Fleet, type FleetClient } from '../testing/fleet.js';
import { counter, health, permutations, syncUrl } from '../testing/multi-coordinator.js';
import { usePostgresCluster } from '../testing/use-postgres-cluster.js';

const DOCUMENTS = 30;
const CLIENTS = 10;
/** Clients per child process (each holds a few host-node documents). */
const PER_PROCESS = 4;

const cluster = usePostgresCluster();

test('three coordinators on one PostgreSQL: every document has exactly one owner, and 10 clients given the URLs in different orders converge through redirects', async () => {
  const store = cluster().createDatabase('three');
  // Forked first: their starts overlap the coordinators'.
  const fleets = Array.from({ length: Math.ceil(CLIENTS / PER_PROCESS) }, () => new Fleet());
  const coordinators = await Promise.all(
    // One worker each: three coordinators, the clients and PostgreSQL share two cores.
    Array.from({ length: 3 }, () => startCoordinatorProcess(['--store', store, '--workers', '1'])),
  ).catch(async (error: unknown) => {
    await Promise.all(fleets.map((f) => f.close()));
    throw error;
  });
  const urls = coordinators.map((c) => c.url);
  const orders = permutations(urls.map(syncUrl));
  const docIds = Array.from({ length: DOCUMENTS }, (_, i) => `doc-${i}`);
  // Client c writes documents 3c..3c+5: each document has two clients, each starting at its own URL.
  const clients: FleetClient[] = Array.from({ length: CLIENTS }, (_, c) => ({
    name: `client-${c}`,
    urls: orders[c % orders.length]!,
    docIds: Array.from({ length: 6 }, (_, i) => docIds[(3 * c + i) % DOCUMENTS]!),
  }));
  try {
    await Promise.all(
      fleets.map((fleet, i) => fleet.start(clients.slice(i * PER_PROCESS, (i + 1) * PER_PROCESS), 200)),
    );
    // Until every client had a mutation confirmed on each of its documents (through redirects).
    for (;;) {
      const progress = await Promise.all(fleets.map((f) => f.ask({ type: 'progress' }, 'progress', 10_000)));
      if (progress.every((p) => p.leastConfirmed >= 1)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (const { problems } of await Promise.all(
      fleets.map((f) => f.ask({ type: 'stop' }, 'stopped', 60_000)),
    )) {
      expect(problems).toEqual([]);
    }
    const reports: DocumentReport[] = (
      await Promise.all(fleets.map((f) => f.ask({ type: 'settle' }, 'settled', 60_000)))
    ).flatMap((r) => r.documents);

    // Exactly one owner each: the owned lists are disjoint and cover every document, on more than one.
    const owned = await Promise.all(urls.map(async (url) => (await health(url)).owned));
    expect(owned.flat().sort()).toEqual([...docIds].sort());
    expect(owned.filter((docs) => docs.length > 0).length).toBeGreaterThan(1);
    const redirects = await Promise.all(urls.map((url) => counter(url, 'tandem_redirects_total')));
    expect(redirects.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);

    // A fresh client reads each document from its owner: every client's pages are those.
    const audited = await fleets[0]!.ask({ type: 'audit', urls: orders[0]!, docIds }, 'audited', 60_000);
    for (const { docId, hash, ids } of audited.documents) {
      const writers = reports.filter((r) => r.docId === docId);
      expect(writers.length).toBe(2);
      for (const writer of writers) {
        expect(writer.hash, `${writer.client} ${docId}`).toBe(hash);
        expect(writer.confirmed.length).toBeGreaterThan(0);
        expect(ids).toEqual(expect.arrayContaining([...writer.confirmed]));
      }
    }
  } finally {
    await Promise.all(fleets.map((f) => f.close()));
    for (const { child } of coordinators) child.kill('SIGKILL');
  }
}, 120_000);
