// PostgreSQL connections killed (pg_terminate_backend) at seeded random moments of a document's syncs,
// checkpoints and opens, and of two lease keepers' claims and renewals: whatever await the kill lands
// on, nothing confirmed is lost, nothing half written is read back, nothing hangs, and the process
// does not crash. Replay a run with KILLS_SEED=<seed>.
import { type Frame, PAGE_SIZE, PageStore } from '@tandem/runtime';
import { mulberry32 } from '@tandem/runtime/testing';
import { expect, test } from 'vitest';
import { usePostgresCluster } from '../testing/use-postgres-cluster.js';
import { LeaseKeeper } from './leases.js';
import { withConnection } from './pool-connection.js';
import { migrateSchema } from './postgres-schema.js';
import { PostgresStore } from './postgres-store.js';

const cluster = usePostgresCluster();
const seed = Number(process.env.KILLS_SEED ?? Date.now() % 1_000_000);
console.log(`connection-kills seed ${seed} (replay: KILLS_SEED=${seed})`);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A one-page frame whose page is filled with the lsn's fill, so that whose frame was read can be told. */
const fillOf = (lsn: number): number => ((lsn * 37) % 251) + 1;
const frame = (lsn: number): Frame => ({
  lsn,
  pageCount: 1,
  pages: [{ pgno: 1, data: new Uint8Array(PAGE_SIZE).fill(fillOf(lsn)) }],
});

/** `step`, failing the test when it neither resolves nor rejects within `ms` (a hang). */
async function bounded<T>(step: Promise<T>, what: string, ms = 20_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`seed ${seed}: ${what} hung for ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([step, hung]);
  } finally {
    clearTimeout(timer);
  }
}

/** Kills every connection named `victim` of the database, every 0–`maxGapMs` ms, until stopped. */
function killer(
  main: PostgresStore,
  next: () => number,
  maxGapMs: number,
): { kills: number; stop(): Promise<void> } {
  let stopped = false;
  const state = { kills: 0 };
  const loop = (async () => {
    while (!stopped) {
      await sleep(next() * maxGapMs);
      const killed = await main.pool.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE application_name = 'victim' AND datname = current_database()`,
      );
      state.kills += killed.rowCount ?? 0;
    }
  })();
  return {
    get kills() {
      return state.kills;
    },
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

test('a held connection that PostgreSQL ends between two statements fails the next statement, and is never given back', async () => {
  const url = cluster().createDatabase('kills_held');
  const main = new PostgresStore(url);
  const pool = new PostgresStore(url, { maxConnections: 1 });
  try {
    const ended = withConnection(pool.pool, async (client) => {
      const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
      await main.pool.query('SELECT pg_terminate_backend($1)', [pid]);
      // Its FATAL is read now, with no statement in flight.
      await sleep(200);
      await client.query('SELECT 1');
    });
    await expect(ended).rejects.toThrow();
    // The pool's one connection is a new one.
    expect((await pool.pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one).toBe(1);
  } finally {
    await Promise.all([pool.close(), main.close()]);
  }
});

test('connections killed at random moments of syncs, checkpoints and opens: every sync that resolved is read back, a failed one is there whole or not at all, nothing hangs', async () => {
  const url = cluster().createDatabase('kills_journal');
  const main = new PostgresStore(url);
  await migrateSchema(main.pool);
  const keeper = new LeaseKeeper(main.pool, { leaseMs: 60_000 });
  const victim = new PostgresStore(`${url}?application_name=victim`, {
    owner: keeper.owner,
    maxConnections: 2,
  });
  const next = mulberry32(seed);
  const kills = killer(main, next, 60);
  const open = () => victim.document('d').open({ journalId: 'j', beforeWrite: async () => undefined });
  /** Reopens until an open gets through the kills; the frames it recovered, checked against what was written. */
  const reopen = async (confirmed: number, failed: number, context: string) => {
    for (let tries = 0; ; tries++) {
      try {
        const opened = await bounded(open(), `open (${context})`);
        const from = opened.recovered.image?.frameCount ?? 0;
        const count = from + opened.recovered.frames.length;
        expect([confirmed, failed], `seed ${seed}, ${context}: frames read back`).toContain(count);
        for (const read of opened.recovered.frames) {
          expect(read.pages[0]?.data[0], `seed ${seed}, ${context}: frame ${read.lsn}`).toBe(
            fillOf(read.lsn),
          );
        }
        if (opened.recovered.image !== undefined) {
          expect(opened.recovered.image.pages.find((page) => page.pgno === 1)?.data[0]).toBe(
            fillOf(from - 1),
          );
        }
        return { journal: opened.journal, count };
      } catch (error) {
        if (tries > 200 || (error as { name?: string }).name === 'AssertionError') throw error;
      }
    }
  };
  let syncs = 0;
  let failures = 0;
  try {
    await keeper.claim('d');
    let { journal, count: confirmed } = await reopen(0, 0, 'first open');
    const deadline = performance.now() + 4000;
    while (performance.now() < deadline) {
      const batch = 1 + Math.floor(next() * 3);
      for (let i = 0; i < batch; i++) journal.appendFrame(frame(confirmed + i));
      const checkpoint = next() < 0.2;
      try {
        await bounded(journal.sync(), 'sync');
        confirmed += batch;
        syncs++;
        if (checkpoint) {
          const pages = new PageStore();
          pages.applyFrame(frame(confirmed - 1));
          await bounded(journal.checkpoint(pages.base(), confirmed), 'checkpoint');
        }
        continue;
      } catch (error) {
        if ((error as { name?: string }).name === 'AssertionError') throw error;
        failures++;
      }
      // A failed sync's frames are all there or none; a failed checkpoint loses no frame.
      ({ journal, count: confirmed } = await reopen(
        confirmed,
        confirmed + batch,
        `after failure ${failures}`,
      ));
    }
  } finally {
    await kills.stop();
    await keeper.close();
    await Promise.all([victim.close(), main.close()]);
  }
  console.log(`seed ${seed}: ${syncs} syncs resolved, ${failures} failed, ${kills.kills} connections killed`);
  expect(failures, `seed ${seed}: the kills reached the writes`).toBeGreaterThan(0);
  expect(syncs, `seed ${seed}: writes got through between kills`).toBeGreaterThan(0);
}, 60_000);

test('connections killed at random moments of two keepers’ claims and renewals, with different lease times: never both hold the lease, and one takes it once the kills stop', async () => {
  const url = cluster().createDatabase('kills_leases');
  const main = new PostgresStore(url);
  await migrateSchema(main.pool);
  const next = mulberry32(seed + 1);
  const leaseTimes = [600 + Math.floor(next() * 1400), 600 + Math.floor(next() * 1400)];
  const pools = leaseTimes.map(
    (leaseMs) =>
      new PostgresStore(`${url}?application_name=victim`, { use: 'leases', leaseMs, maxConnections: 2 }),
  );
  const keepers = pools.map((pool, i) => new LeaseKeeper(pool.pool, { leaseMs: leaseTimes[i] ?? 600 }));
  const kills = killer(main, next, 60);
  let stopped = false;
  let both = 0;
  let held = [0, 0];
  const claims = keepers.map(async (keeper, i) => {
    while (!stopped) {
      await bounded(
        keeper.claim('d').catch(() => undefined),
        `claim of keeper ${i} (lease ${leaseTimes[i]} ms)`,
      );
      await sleep(next() * 50);
    }
  });
  try {
    const deadline = performance.now() + 4000;
    while (performance.now() < deadline) {
      const owning = keepers.map((keeper) => keeper.owned.includes('d'));
      if (owning[0] && owning[1]) both++;
      held = held.map((n, i) => n + (owning[i] ? 1 : 0));
      await sleep(2);
    }
    await kills.stop();
    stopped = true;
    await Promise.all(claims);
    const longest = Math.max(...leaseTimes);
    // Once PostgreSQL answers again, one of them holds the lease within two leases (a lease whose claim
    // committed unanswered runs out first).
    const until = performance.now() + 2 * longest + 2000;
    while (!keepers.some((keeper) => keeper.owned.includes('d')) && performance.now() < until) {
      await Promise.all(keepers.map((keeper) => keeper.claim('d').catch(() => undefined)));
      await sleep(50);
    }
    expect(
      keepers.some((keeper) => keeper.owned.includes('d')),
      `seed ${seed}: someone holds the lease after the kills`,
    ).toBe(true);
  } finally {
    stopped = true;
    await kills.stop();
    await Promise.all(claims);
    await Promise.all(keepers.map((keeper) => keeper.close()));
    await Promise.all([...pools.map((pool) => pool.close()), main.close()]);
  }
  console.log(
    `seed ${seed}: leases ${leaseTimes.join('/')} ms, samples held by each ${held.join('/')}, by both ${both}, ${kills.kills} connections killed`,
  );
  expect(both, `seed ${seed}: samples where both keepers held the lease`).toBe(0);
  expect(kills.kills, `seed ${seed}: the kills reached the keepers`).toBeGreaterThan(0);
}, 60_000);
