// The owner of busy documents SIGKILLed 20 times at seeded random moments, with three coordinators on
// one PostgreSQL (issue 13 must-show 2). Node clients (host-node documents in a child process) write
// all along, each given the three URLs in its own order. After each kill another coordinator takes the
// documents over once their leases expire, the killed one is restarted on its port (three stay up),
// and the clients follow — redirected, or moving down their list. At the end nothing a client was told
// `confirmed` is missing, nothing was rejected or failed, and every client's pages are the owner's.
// Replay a run with OWNER_KILL_SEED=<seed>.
import { expect, test } from 'vitest';
import { type CoordinatorProcess, startCoordinatorProcess } from '../testing/coordinator-bin.js';
import { Fleet, type FleetClient } from '../testing/fleet.js';
import { counter, health, permutations, syncUrl } from '../testing/multi-coordinator.js';
import { usePostgresCluster } from '../testing/use-postgres-cluster.js';

// Not shorter: a PostgreSQL statement gives up after a third of it, a document open after all of it
// (store-timeouts.ts), and on this loaded machine shorter leases fail those and flap.
const LEASE_MS = 2000;
const KILLS = 20;
const DOCUMENTS = 6;
const CLIENTS = 4;
/**
 * How long after a kill the survivors must hold every lease of the killed one: the lease (it cannot be
 * taken sooner), then a client's next try (backoff ≤ 500 ms, fleet-child.ts) and the claim, each a
 * round trip to a loaded coordinator and PostgreSQL. Measured: median 1.4 s, max 2.9 s alone at load 18;
 * max 3.3 s beside the coordinator suite at load 19, 4.5 s beside 17 store files at load 22. The
 * printed median is the figure to watch; this bound only catches a takeover that does not happen.
 */
const TAKEOVER_MS = LEASE_MS + 6_000;

const cluster = usePostgresCluster();

test('the owner of busy documents SIGKILLed 20 times at random moments: another takes over within the lease, clients follow, nothing confirmed is missing', async () => {
  const seed = Number(process.env.OWNER_KILL_SEED ?? Date.now() % 1_000_000);
  console.log(`owner-kill seed ${seed} (replay: OWNER_KILL_SEED=${seed})`);
  let random = seed;
  const next = (): number => {
    random = (random * 1_103_515_245 + 12_345) % 2 ** 31;
    return random / 2 ** 31;
  };
  const store = cluster().createDatabase('killed');
  const args = ['--store', store, '--lease-ms', String(LEASE_MS)];
  // Forked first: its start overlaps the coordinators'.
  const fleet = new Fleet();
  const coordinators: CoordinatorProcess[] = await Promise.all(
    Array.from({ length: 3 }, () => startCoordinatorProcess(args)),
  ).catch(async (error: unknown) => {
    await fleet.close();
    throw error;
  });
  const urls = coordinators.map((c) => c.url);
  const ports = urls.map((url) => Number(new URL(url).port));
  const orders = permutations(urls.map(syncUrl));
  const docIds = Array.from({ length: DOCUMENTS }, (_, i) => `busy-${i}`);
  const clients: FleetClient[] = Array.from({ length: CLIENTS }, (_, c) => ({
    name: `client-${c}`,
    urls: orders[(c * 2) % orders.length]!,
    docIds: docIds.filter((_, d) => d % 2 === c % 2),
  }));
  const takeovers: number[] = [];
  /** Restarts under way, by coordinator index. */
  const restarting = new Map<number, Promise<void>>();
  const owners = async (): Promise<string[][]> =>
    Promise.all(urls.map((url, i) => (restarting.has(i) ? [] : health(url).then((h) => h.owned))));
  try {
    await fleet.start(clients, 100);
    for (let kill = 0; kill < KILLS; kill++) {
      const context = `seed ${seed}, kill ${kill}`;
      await new Promise((resolve) => setTimeout(resolve, 100 + next() * 600));
      // Two at least are up (restarts overlap the next kills, so that 20 fit in the test's time).
      while (restarting.size > 1) await Promise.race(restarting.values());
      // The coordinator owning the most documents goes.
      const owned = await owners();
      const victim = owned.indexOf(owned.reduce((most, docs) => (docs.length > most.length ? docs : most)));
      const moving = owned[victim]!;
      const killedAt = Date.now();
      coordinators[victim]!.child.kill('SIGKILL');
      await coordinators[victim]!.exited;
      // Restarted on its port: the clients keep its URL in their lists.
      restarting.set(
        victim,
        startCoordinatorProcess(args, { port: ports[victim]! }).then((started) => {
          coordinators[victim] = started;
          restarting.delete(victim);
        }),
      );
      for (;;) {
        const now = (await owners()).flat();
        if (moving.every((docId) => now.includes(docId))) break;
        expect(Date.now() - killedAt, `${context}: ${moving} not taken over`).toBeLessThan(TAKEOVER_MS);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      takeovers.push(Date.now() - killedAt);
    }
    await Promise.all(restarting.values());
    const stopped = await fleet.ask({ type: 'stop' }, 'stopped', 60_000);
    expect(stopped.problems, `seed ${seed}`).toEqual([]);
    const { documents } = await fleet.ask({ type: 'settle' }, 'settled', 60_000);
    const audited = await fleet.ask({ type: 'audit', urls: orders[0]!, docIds }, 'audited', 60_000);
    for (const { docId, hash, ids } of audited.documents) {
      for (const writer of documents.filter((d) => d.docId === docId)) {
        expect(writer.confirmed.length, `seed ${seed}`).toBeGreaterThan(0);
        const missing = writer.confirmed.filter((id) => !ids.includes(id));
        expect(missing, `seed ${seed}: confirmed but missing from ${docId}`).toEqual([]);
        expect(writer.hash, `seed ${seed}: ${writer.client} ${docId}`).toBe(hash);
      }
    }
    const redirects = await Promise.all(urls.map((url) => counter(url, 'tandem_redirects_total')));
    console.log(
      `owner-kill seed ${seed}: ${KILLS} kills, takeover ms max ${Math.max(...takeovers)}, median ${takeovers.sort((a, b) => a - b)[KILLS >> 1]}, redirects since the last restarts ${redirects.join('/')}`,
    );
  } finally {
    await fleet.close();
    await Promise.allSettled(restarting.values());
    for (const { child } of coordinators) child.kill('SIGKILL');
  }
}, 300_000); // 150-250 s at load 18-30: each of the 20 restarts costs ~1.7 CPU-s, 5-10 s of wall time here
