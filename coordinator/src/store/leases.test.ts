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
    // Longer than a lease: only renewals keep them.
    await sleep(1300);
    expect(renewed).toBeGreaterThanOrEqual(2);
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
    await sleep(1000);
    await b.claim('d');
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
    await sleep(700);
    expect(renewals).toBeGreaterThanOrEqual(3);
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
    await sleep(300);
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
    await sleep(leaseMs + 300);
    // Renewals wait on the lock; the clock does not.
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
