// The owner of busy documents SIGKILLed 12 times at seeded random moments, with three coordinators on
// one PostgreSQL (issue 13 must-show 2). Node clients (host-node documents in a child process) write
// all along, each given the three URLs in its own order. After each kill another coordinator takes the
// documents over as their leases expire (a survivor holds a hello for a lease its owner stopped renewing
// and claims it at its expiry: leases.ts invariant 7), the killed one is restarted on its port (three stay up),
// and the clients follow — redirected, or moving down their list. At the end nothing a client was told
// `confirmed` is missing, nothing was rejected or failed, and every client's pages are the owner's.
// Replay a run with OWNER_KILL_SEED=<seed>.

import pg from 'pg';
import { expect, test } from 'vitest';
import { type CoordinatorProcess, startCoordinatorProcess } from '../testing/coordinator-bin.js';
import { Fleet, type FleetClient } from '../testing/fleet.js';
import { counter, health, permutations, syncUrl } from '../testing/multi-coordinator.js';
import { usePostgresCluster } from '../testing/use-postgres-cluster.js';

// Not shorter: a PostgreSQL statement gives up after a third of it, a document open after all of it
// (store-timeouts.ts), and on this loaded machine shorter leases fail those and flap.
const LEASE_MS = 2000;
const KILLS = 12;
const DOCUMENTS = 6;
const CLIENTS = 4;
/**
 * How long after a kill a survivor must hold the lease of each document of the killed owner: its lease,
 * set by the database at the last renewal before the kill, expires within LEASE_MS; a survivor holding
 * a client's hello for it claims it then (leases.ts invariant 7). The allowance is the survivor's timer
 * and its claim statement on a loaded 2-core machine. The claim is timed by the database (the row's
 * expiry less LEASE_MS, see `claimedAt`), not by when this test's polling sees it: at load 12-21 the
 * polling alone lagged by up to a second.
 */
const CLAIM_ALLOWANCE_MS = 500;
const TAKEOVER_MS = LEASE_MS + CLAIM_ALLOWANCE_MS;
/**
 * The clients are welcomed again later: the survivor opens the document from PostgreSQL first (1-4 s
 * at load 15-20 beside the writes of its other documents; a read past its timeout fails the open and the
 * clients retry), and the clients' process, 12 documents writing on one thread, lags (seen: a socket's
 * close handled 1.7 s after the kill). Measured: median 3.5 s, max 4.8 s at load 12-16; one kill took
 * over 10 s at load 16. This bound only catches clients that do not come back; the figures are printed.
 */
const FOLLOW_MS = LEASE_MS + 18_000;

const cluster = usePostgresCluster();

/**
 * When a survivor took a lease, by the database's clock (this machine's, as `Date.now()` is): a claim sets
 * the expiry to its statement's `now()` plus LEASE_MS. A renewal since (every LEASE_MS / 3) moves it
 * later, so this is never earlier than the claim, and never later than this test saw the row.
 */
function claimedAt(row: { claimed_at: string }): number {
  return Math.min(Math.round(Number(row.claimed_at)), Date.now());
}

test('the owner of busy documents SIGKILLed 12 times at random moments: another takes over within the lease, clients follow, nothing confirmed is missing', async () => {
  const seed = Number(process.env.OWNER_KILL_SEED ?? Date.now() % 1_000_000);
  console.log(`owner-kill seed ${seed} (replay: OWNER_KILL_SEED=${seed})`);
  let random = seed;
  const next = (): number => {
    random = (random * 1_103_515_245 + 12_345) % 2 ** 31;
    return random / 2 ** 31;
  };
  const store = cluster().createDatabase('killed');
  // A survivor's open reads the frames since the last checkpoint: 100, not the default 1000, which at
  // this write rate and load took longer to read than the lease. One worker each: three coordinators,
  // the clients and PostgreSQL share two cores.
  const args = [
    '--store',
    store,
    '--lease-ms',
    String(LEASE_MS),
    '--checkpoint-every',
    '100',
    '--workers',
    '1',
  ];
  // Forked first: its start overlaps the coordinators'.
  const fleet = new Fleet();
  const leasesTable = new pg.Client({ connectionString: store });
  await leasesTable.connect();
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
  /** Per kill, ms from the SIGKILL until survivors held the lease of every moved document. */
  const takeovers: number[] = [];
  /** The same, to when this test's polling saw it (printed beside, to show the polling's lag). */
  const seen: number[] = [];
  /** Per kill, ms until every fleet client of those documents was welcomed again. */
  const followed: number[] = [];
  /** Restarts under way, by coordinator index. */
  const restarting = new Map<number, Promise<void>>();
  const owners = async (): Promise<{ owner: string; owned: string[] }[]> =>
    Promise.all(urls.map((url, i) => (restarting.has(i) ? { owner: '', owned: [] } : health(url))));
  try {
    await fleet.start(clients, 100);
    for (let kill = 0; kill < KILLS; kill++) {
      const context = `seed ${seed}, kill ${kill}`;
      await new Promise((resolve) => setTimeout(resolve, 100 + next() * 600));
      // Two at least are up (restarts overlap the next kills, so that the kills fit in the test's time).
      while (restarting.size > 1) await Promise.race(restarting.values());
      // The coordinator owning the most documents goes.
      const all = await owners();
      const owned = all.map((h) => h.owned);
      const victim = owned.indexOf(owned.reduce((most, docs) => (docs.length > most.length ? docs : most)));
      const moving = owned[victim]!;
      const victimOwner = all[victim]!.owner;
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
      // A survivor holds each lease once the leases table names another owner than the killed one.
      const claimed = new Map<string, number>();
      while (claimed.size < moving.length) {
        // Only unexpired leases: a lease given back is expired at once, which would date it too early.
        const rows = await leasesTable.query<{ doc_id: string; owner: string; claimed_at: string }>(
          `SELECT doc_id, owner, extract(epoch FROM expires_at) * 1000 - $2::double precision AS claimed_at
           FROM leases WHERE doc_id = ANY($1) AND expires_at > now()`,
          [moving, LEASE_MS],
        );
        for (const row of rows.rows) {
          if (row.owner !== victimOwner && !claimed.has(row.doc_id)) claimed.set(row.doc_id, claimedAt(row));
        }
        expect(Date.now() - killedAt, `${context}: ${moving} not taken over`).toBeLessThan(
          TAKEOVER_MS + 5000,
        );
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // A victim found owning nothing (its documents moving already) has nothing to measure.
      if (moving.length > 0) {
        takeovers.push(Math.max(...claimed.values()) - killedAt);
        seen.push(Date.now() - killedAt);
      }
      for (;;) {
        const { documents } = await fleet.ask({ type: 'welcomes', since: killedAt }, 'welcomes', 10_000);
        const theirs = documents.filter((d) => moving.includes(d.docId));
        if (theirs.every((d) => d.at !== null)) {
          const ats = theirs.map((d) => d.at!);
          if (ats.length > 0) followed.push(Math.max(...ats) - killedAt);
          break;
        }
        expect(Date.now() - killedAt, `${context}: clients of ${moving} not welcomed`).toBeLessThan(
          FOLLOW_MS,
        );
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    const sorted = [...takeovers].sort((a, b) => a - b);
    const clientsSorted = [...followed].sort((a, b) => a - b);
    console.log(
      `owner-kill seed ${seed}: ${KILLS} kills, lease ${LEASE_MS} ms; kill to every lease held by a survivor ms median ${sorted[sorted.length >> 1]}, max ${sorted.at(-1)} (each ${takeovers.join(' ')}; seen by this test's polling ${seen.join(' ')}); kill to every fleet client welcomed again ms median ${clientsSorted[clientsSorted.length >> 1]}, max ${clientsSorted.at(-1)}`,
    );
    expect(sorted.at(-1), `seed ${seed}: within the lease and ${CLAIM_ALLOWANCE_MS} ms`).toBeLessThanOrEqual(
      TAKEOVER_MS,
    );
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
    console.log(`owner-kill seed ${seed}: redirects since the last restarts ${redirects.join('/')}`);
  } finally {
    await leasesTable.end();
    await fleet.close();
    await Promise.allSettled(restarting.values());
    for (const { child } of coordinators) child.kill('SIGKILL');
  }
}, 300_000); // 100-160 s at load 12-23: each restart costs ~1.9 CPU-s with one worker (2.6 with two)
