import { type Frame, PAGE_SIZE, PageStore } from '@tandem/runtime';
import { expect, test, vi } from 'vitest';
import { usePostgresCluster } from '../testing/use-postgres-cluster.js';
import { LeaseKeeper } from './leases.js';
import { migrateSchema } from './postgres-schema.js';
import { PostgresStore } from './postgres-store.js';

const cluster = usePostgresCluster();
let databases = 0;

async function database(): Promise<{ url: string; main: PostgresStore }> {
  const url = cluster().createDatabase(`leases_${databases++}`);
  const main = new PostgresStore(url, { maxConnections: 4 });
  await migrateSchema(main.pool);
  return { url, main };
}

/** A one-page frame whose page is filled with `fill`, so that whose frame was stored can be told. */
const frame = (lsn: number, fill: number): Frame => ({
  lsn,
  pageCount: 1,
  pages: [{ pgno: 1, data: new Uint8Array(PAGE_SIZE).fill(fill) }],
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once `check` holds (asked every 20 ms); fails after `ms`. */
async function until(check: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(20);
  }
}

async function epochOf(main: PostgresStore, docId: string): Promise<{ owner: string; epoch: number }> {
  const row = (
    await main.pool.query<{ owner: string; epoch: string }>(
      'SELECT owner, epoch FROM leases WHERE doc_id = $1',
      [docId],
    )
  ).rows[0];
  return { owner: row?.owner ?? '', epoch: Number(row?.epoch ?? 0) };
}

test("another owner's unexpired lease refuses a claim with document-owned; once expired it is taken under a higher epoch", async () => {
  const { main } = await database();
  const a = new LeaseKeeper(main.pool, { leaseMs: 600 });
  const b = new LeaseKeeper(main.pool, { leaseMs: 600 });
  try {
    await a.claim('d');
    expect(await epochOf(main, 'd')).toEqual({ owner: a.owner, epoch: 1 });
    const refused = await b.claim('d').catch((error: unknown) => error);
    expect(refused).toMatchObject({ kind: 'document-owned' });
    expect((refused as { fields: { retryAfterMs: number } }).fields.retryAfterMs).toBeGreaterThan(0);
    expect(b.owned).toEqual([]);
    // `a` stops renewing (as if paused): its lease runs out and `b` takes it.
    await a.close();
    await b.claim('d');
    expect(await epochOf(main, 'd')).toEqual({ owner: b.owner, epoch: 2 });
    expect(b.owned).toEqual(['d']);
  } finally {
    await a.close();
    await b.close();
    await main.close();
  }
});

test('held leases are renewed; one taken over meanwhile is lost, told once, and no longer owned', async () => {
  const { main } = await database();
  const lost: string[] = [];
  let renewed = 0;
  const a = new LeaseKeeper(main.pool, {
    leaseMs: 900,
    events: { lost: (docId) => lost.push(docId), renewed: (count) => (renewed += count) },
  });
  const b = new LeaseKeeper(main.pool, { leaseMs: 900 });
  try {
    await a.claim('kept');
    await a.claim('taken');
    const claimedAt = performance.now();
    // Longer than a lease: only renewals keep them.
    await until(() => renewed >= 4 && performance.now() - claimedAt > 1000, 'a lease time of renewals');
    expect(a.owned).toEqual(['kept', 'taken']);
    // Another coordinator takes one over once it looks expired (forced here).
    await main.pool.query("UPDATE leases SET expires_at = now() WHERE doc_id = 'taken'");
    await b.claim('taken');
    await a.renew();
    await a.renew();
    expect(lost).toEqual(['taken']);
    expect(a.owned).toEqual(['kept']);
    expect(await epochOf(main, 'kept')).toMatchObject({ owner: a.owner });
  } finally {
    await a.close();
    await b.close();
    await main.close();
  }
});

test('a released lease is taken by another owner at once', async () => {
  const { main } = await database();
  const a = new LeaseKeeper(main.pool, { leaseMs: 60_000 });
  const b = new LeaseKeeper(main.pool, { leaseMs: 60_000 });
  try {
    await a.claim('d');
    await a.release('d');
    await b.claim('d');
    expect(await epochOf(main, 'd')).toEqual({ owner: b.owner, epoch: 2 });
  } finally {
    await a.close();
    await b.close();
    await main.close();
  }
});

test('a release whose expiry fails is renewed no more: another owner takes the lease once it runs out', async () => {
  const { main } = await database();
  const a = new LeaseKeeper(main.pool, { leaseMs: 600 });
  const b = new LeaseKeeper(main.pool, { leaseMs: 600 });
  // The release's UPDATE fails once (the connection dropped); every other query goes through.
  const query = main.pool.query.bind(main.pool) as (...args: unknown[]) => Promise<unknown>;
  let failures = 0;
  vi.spyOn(main.pool, 'query').mockImplementation(((...args: unknown[]) => {
    if (String(args[0]).includes('SET expires_at = now()\n') && failures++ === 0) {
      return Promise.reject(new Error('connection terminated'));
    }
    return query(...args);
  }) as typeof main.pool.query);
  try {
    // Another lease still held keeps the renewals querying.
    await a.claim('kept');
    await a.claim('d');
    await expect(a.release('d')).rejects.toThrow('connection terminated');
    expect(failures).toBe(1);
    expect(a.owned).toEqual(['kept']);
    await expect(b.claim('d')).rejects.toMatchObject({ kind: 'document-owned' });
    await until(
      () =>
        b.claim('d').then(
          () => true,
          () => false,
        ),
      'the lease ran out',
    );
    expect(await epochOf(main, 'd')).toEqual({ owner: b.owner, epoch: 2 });
    expect(await epochOf(main, 'kept')).toMatchObject({ owner: a.owner });
  } finally {
    vi.restoreAllMocks();
    await a.close();
    await b.close();
    await main.close();
  }
});

test('a renewal whose callback throws is reported, and renewals go on', async () => {
  const { main } = await database();
  const failures: unknown[] = [];
  let renewals = 0;
  const a = new LeaseKeeper(main.pool, {
    leaseMs: 300,
    events: {
      renewed: () => {
        renewals++;
        throw new Error('callback bug');
      },
      failed: (error) => failures.push(error),
    },
  });
  try {
    await a.claim('d');
    await until(() => renewals >= 3, 'three renewals');
    expect(failures.length).toBe(renewals);
    expect(failures[0]).toMatchObject({ message: 'callback bug' });
    expect(a.owned).toEqual(['d']);
  } finally {
    await a.close();
    await main.close();
  }
});

test('a former owner writes nothing once its lease is taken over: its syncs and checkpoints fail with document-owned', async () => {
  const { url, main } = await database();
  const a = new LeaseKeeper(main.pool, { leaseMs: 60_000 });
  const b = new LeaseKeeper(main.pool, { leaseMs: 60_000 });
  const storeA = new PostgresStore(url, { owner: a.owner });
  const storeB = new PostgresStore(url, { owner: b.owner });
  const open = (store: PostgresStore, docId: string) =>
    store.document(docId).open({ journalId: 'j', beforeWrite: async () => undefined });
  const takeOver = async (docId: string) => {
    // `a` is paused past its lease (forced to expire here); `b` takes over.
    await main.pool.query('UPDATE leases SET expires_at = now() WHERE doc_id = $1', [docId]);
    await b.claim(docId);
  };
  try {
    // A document opens only under its owner's lease.
    await expect(open(storeA, 'd')).rejects.toMatchObject({ kind: 'document-owned' });
    await a.claim('d');
    const first = await open(storeA, 'd');
    first.journal.appendFrame(frame(0, 1));
    await first.journal.sync();

    await takeOver('d');
    const second = await open(storeB, 'd');
    expect(second.recovered.frames.map((f) => f.lsn)).toEqual([0]);
    second.journal.appendFrame(frame(1, 2));
    await second.journal.sync();

    // `a` wakes up: its own frame 1 is refused, and it cannot reopen the document.
    first.journal.appendFrame(frame(1, 3));
    await expect(first.journal.sync()).rejects.toMatchObject({ kind: 'document-owned' });
    await expect(open(storeA, 'd')).rejects.toMatchObject({ kind: 'document-owned' });
    const rows = await main.pool.query<{ lsn: string; fill: number }>(
      "SELECT lsn, get_byte(record, 12) AS fill FROM frames WHERE doc_id = 'd' ORDER BY lsn",
    );
    expect(rows.rows.map((row) => [Number(row.lsn), row.fill])).toEqual([
      [0, 1],
      [1, 2],
    ]);

    // Likewise a checkpoint.
    await a.claim('c');
    const checkpointing = await open(storeA, 'c');
    checkpointing.journal.appendFrame(frame(0, 1));
    await checkpointing.journal.sync();
    await takeOver('c');
    const pages = new PageStore();
    pages.applyFrame(frame(0, 1));
    await expect(checkpointing.journal.checkpoint(pages.base(), 1)).rejects.toMatchObject({
      kind: 'document-owned',
    });
    expect((await main.pool.query("SELECT 1 FROM images WHERE doc_id = 'c'")).rowCount).toBe(0);
  } finally {
    await a.close();
    await b.close();
    await Promise.all([storeA.close(), storeB.close(), main.close()]);
  }
});

test('a write racing a takeover waits for it and is refused: a takeover alone fences a former owner', async () => {
  const { url, main } = await database();
  const a = new LeaseKeeper(main.pool, { leaseMs: 60_000 });
  const storeA = new PostgresStore(url, { owner: a.owner });
  const taker = await main.pool.connect();
  try {
    await a.claim('d');
    const opened = await storeA.document('d').open({ journalId: 'j', beforeWrite: async () => undefined });
    opened.journal.appendFrame(frame(0, 1));
    await opened.journal.sync();
    // Another coordinator's takeover, not committed yet; it writes no frame of its own.
    await taker.query('BEGIN');
    await taker.query("UPDATE leases SET owner = 'b', epoch = epoch + 1 WHERE doc_id = 'd'");
    opened.journal.appendFrame(frame(1, 3));
    let settled = false;
    const syncing = opened.journal.sync().finally(() => {
      settled = true;
    });
    syncing.catch(() => undefined);
    await until(async () => {
      const waiting = await main.pool.query(
        "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
      );
      return (waiting.rowCount ?? 0) > 0;
    }, 'the write waits for the lock');
    expect(settled).toBe(false);
    await taker.query('COMMIT');
    await expect(syncing).rejects.toMatchObject({ kind: 'document-owned' });
    const rows = await main.pool.query<{ lsn: string }>(
      "SELECT lsn FROM frames WHERE doc_id = 'd' ORDER BY lsn",
    );
    expect(rows.rows.map((row) => Number(row.lsn))).toEqual([0]);
  } finally {
    await taker.query('ROLLBACK').catch(() => undefined);
    taker.release();
    await a.close();
    await Promise.all([storeA.close(), main.close()]);
  }
});

test('lease rows locked by another session past the lease: the owner loses its leases by its own clock, within the lease, and claims again once the lock goes', async () => {
  const { url, main } = await database();
  const leaseMs = 900;
  const leasing = new PostgresStore(url, { maxConnections: 2, use: 'leases', leaseMs });
  const lost: { docId: string; at: number }[] = [];
  const a = new LeaseKeeper(leasing.pool, {
    leaseMs,
    events: { lost: (docId) => lost.push({ docId, at: performance.now() }) },
  });
  const locker = await main.pool.connect();
  try {
    await a.claim('d');
    await locker.query('BEGIN');
    await locker.query('SELECT * FROM leases FOR UPDATE');
    const lockedAt = performance.now();
    // Renewals wait on the lock; the clock does not.
    await until(() => lost.length > 0, 'the lease lost');
    expect(lost.map((l) => l.docId)).toEqual(['d']);
    expect(lost[0]!.at - lockedAt).toBeLessThanOrEqual(leaseMs);
    expect(a.owned).toEqual([]);
    await locker.query('ROLLBACK');
    // The renewals that timed out left the lease pool usable.
    await a.claim('d');
    expect(a.owned).toEqual(['d']);
  } finally {
    await locker.query('ROLLBACK').catch(() => undefined);
    locker.release();
    await a.close();
    await Promise.all([leasing.close(), main.close()]);
  }
});

/** A lease row of a coordinator that died (never renewed again), expiring in `ms` by the database's clock. */
async function deadOwnerLease(main: PostgresStore, docId: string, ms: number): Promise<void> {
  await main.pool.query(
    `INSERT INTO leases (doc_id, owner, epoch, expires_at, owner_url)
     VALUES ($1, 'dead', 1, now() + make_interval(secs => $2::double precision / 1000), 'http://127.0.0.1:9')`,
    [docId, ms],
  );
}

/** Counts the claims refused from now on (each then asks what the holder's lease has left). */
function countRefusals(main: PostgresStore): () => number {
  const query = main.pool.query.bind(main.pool) as (...args: unknown[]) => Promise<unknown>;
  let count = 0;
  vi.spyOn(main.pool, 'query').mockImplementation(((...args: unknown[]) => {
    const answer = query(...args);
    if (String(args[0]).includes('AS left_ms')) {
      answer.then(
        () => count++,
        () => undefined,
      );
    }
    return answer;
  }) as typeof main.pool.query);
  return () => count;
}

test('a claim refused by an overdue lease (its owner missed its renewals) waits for its expiry and takes it then, never before the database says it expired', async () => {
  const { main } = await database();
  const b = new LeaseKeeper(main.pool, { leaseMs: 2000 });
  try {
    await deadOwnerLease(main, 'd', 600);
    const started = performance.now();
    await b.claim('d');
    const waited = performance.now() - started;
    expect(await epochOf(main, 'd')).toEqual({ owner: b.owner, epoch: 2 });
    // Not before the expiry (the claim statement decides), and promptly after it.
    expect(waited).toBeGreaterThanOrEqual(590);
    expect(waited).toBeLessThan(600 + 500);
    expect(b.owned).toEqual(['d']);
  } finally {
    await b.close();
    await main.close();
  }
});

test('a claim refused by a lease renewed on schedule is refused at once, and one whose owner renews while it waits is refused then, naming the owner', async () => {
  const { main } = await database();
  const b = new LeaseKeeper(main.pool, { leaseMs: 2000 });
  try {
    // Two thirds of a lease left: the owner renewed a third of a lease ago, as it does.
    await deadOwnerLease(main, 'fresh', 1400);
    const started = performance.now();
    await expect(b.claim('fresh')).rejects.toMatchObject({
      kind: 'document-owned',
      fields: { ownerUrl: 'http://127.0.0.1:9' },
    });
    expect(performance.now() - started).toBeLessThan(500);
    // Overdue, but its owner renews before it expires: the waiting claim is refused.
    await deadOwnerLease(main, 'late', 700);
    const refusals = countRefusals(main);
    const claiming = b.claim('late');
    claiming.catch(() => undefined);
    await until(() => refusals() > 0, 'the claim waits');
    await main.pool.query(`UPDATE leases SET expires_at = now() + interval '2 s' WHERE doc_id = 'late'`);
    await expect(claiming).rejects.toMatchObject({ kind: 'document-owned' });
    expect(await epochOf(main, 'late')).toEqual({ owner: 'dead', epoch: 1 });
    expect(b.owned).toEqual([]);
  } finally {
    vi.restoreAllMocks();
    await b.close();
    await main.close();
  }
});

test('closing a keeper ends the claims waiting for an overdue lease', async () => {
  const { main } = await database();
  const b = new LeaseKeeper(main.pool, { leaseMs: 2000 });
  try {
    await deadOwnerLease(main, 'd', 900);
    const refusals = countRefusals(main);
    const claiming = b.claim('d');
    claiming.catch(() => undefined);
    await until(() => refusals() > 0, 'the claim waits');
    await b.close();
    await expect(claiming).rejects.toMatchObject({ kind: 'closed' });
    // Past the expiry the closed keeper's claim did not come back for it.
    await until(async () => {
      const row = await main.pool.query(
        "SELECT 1 FROM leases WHERE doc_id = 'd' AND expires_at < now() - interval '100 ms'",
      );
      return row.rowCount === 1;
    }, 'the lease expired');
    expect(await epochOf(main, 'd')).toEqual({ owner: 'dead', epoch: 1 });
  } finally {
    vi.restoreAllMocks();
    await b.close();
    await main.close();
  }
});

test('a renewal answered after this process released and claimed the lease again (a newer epoch) leaves the new lease held', async () => {
  const { main } = await database();
  const lost: string[] = [];
  const a = new LeaseKeeper(main.pool, { leaseMs: 60_000, events: { lost: (docId) => lost.push(docId) } });
  const b = new LeaseKeeper(main.pool, { leaseMs: 60_000 });
  const query = main.pool.query.bind(main.pool) as (...args: unknown[]) => Promise<unknown>;
  // Barriers: the renewal is held before it reaches PostgreSQL, the claim's answer after it ran there.
  let sendRenewal!: () => void;
  const renewalMayGo = new Promise<void>((resolve) => (sendRenewal = resolve));
  let answerClaim!: () => void;
  const claimMayAnswer = new Promise<void>((resolve) => (answerClaim = resolve));
  let claimRan!: () => void;
  const claimHasRun = new Promise<void>((resolve) => (claimRan = resolve));
  let gating = false;
  const sent: Promise<unknown>[] = [];
  try {
    await a.claim('d');
    vi.spyOn(main.pool, 'query').mockImplementation(((...args: unknown[]) => {
      const sql = String(args[0]);
      let answer: Promise<unknown>;
      if (gating && sql.includes('RETURNING doc_id, epoch')) answer = renewalMayGo.then(() => query(...args));
      else if (gating && sql.includes('INSERT INTO leases')) {
        answer = query(...args).then(async (result) => {
          claimRan();
          await claimMayAnswer;
          return result;
        });
      } else answer = query(...args);
      sent.push(answer.catch(() => undefined));
      return answer;
    }) as typeof main.pool.query);
    gating = true;
    const renewing = a.renew();
    await a.release('d');
    const claiming = a.claim('d');
    await claimHasRun;
    // The renewal runs after the new claim: it finds the lease at epoch 2, before the claim's answer.
    sendRenewal();
    await renewing;
    answerClaim();
    await claiming;
    await Promise.all(sent);
    expect(await epochOf(main, 'd')).toEqual({ owner: a.owner, epoch: 2 });
    expect(a.owned).toEqual(['d']);
    expect(lost).toEqual([]);
    await expect(b.claim('d')).rejects.toMatchObject({ kind: 'document-owned' });
  } finally {
    vi.restoreAllMocks();
    await a.close();
    await b.close();
    await main.close();
  }
});

test('a claim against an owner with a shorter lease time, renewing on its schedule, is refused within one of its leases, not held for a lease of the claimant', async () => {
  const { main } = await database();
  const owner = new LeaseKeeper(main.pool, { leaseMs: 600, address: () => 'http://127.0.0.1:9' });
  const claimant = new LeaseKeeper(main.pool, { leaseMs: 6000 });
  try {
    await owner.claim('d');
    const started = performance.now();
    // Its lease always has less than half of the claimant's left: overdue by the claimant's measure.
    await expect(claimant.claim('d')).rejects.toMatchObject({
      kind: 'document-owned',
      fields: { ownerUrl: 'http://127.0.0.1:9' },
    });
    const waited = performance.now() - started;
    expect(waited, `refused after ${Math.round(waited)} ms`).toBeLessThan(600 + 1000);
    expect(owner.owned).toEqual(['d']);
    expect(claimant.owned).toEqual([]);
  } finally {
    await claimant.close();
    await owner.close();
    await main.close();
  }
});
