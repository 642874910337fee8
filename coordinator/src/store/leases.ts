// One owner per document among coordinators sharing a PostgreSQL store: this process's leases, taken
// before a document opens here, renewed while held, expired when it closes (sql/0002-leases.sql).
//
// Invariants:
// 1. A document opens in this process only under a lease this process took (`claim`, before the
//    pool's first call for it); the take bumps the lease's epoch, and its frames are written only
//    while that owner id and epoch still hold an unexpired lease (postgres-store.ts, in the same
//    statement): a paused or partitioned former owner cannot write after another took over.
// 2. A lease is taken only when it has expired or is this process's own: another owner's unexpired
//    lease refuses the claim with `document-owned` (retry after the lease's remaining time).
// 3. Every held lease is renewed every `leaseMs / 3`, all in one statement. A lease the renewal does not
//    find (it expired, so another coordinator may hold it) is lost: `onLost` is told, and the caller
//    stops serving the document (closes its clients, closes it). When no renewal has succeeded for
//    `leaseMs` (PostgreSQL unreachable), every lease is lost: none can be trusted any longer.
// 4. A released lease (the document closed here) is expired at once, not deleted: the next owner
//    need not wait, and the epoch keeps growing. It is no longer held from the moment the release
//    starts: should the expiry fail, no renewal extends it (renewals name the held documents), and it
//    runs out within `leaseMs`.
import { randomUUID } from 'node:crypto';
import { TandemError } from '@tandem/runtime';
import type pg from 'pg';

export interface LeaseEvents {
  /** A lease taken (`claim` succeeded). */
  taken?(docId: string): void;
  /** Leases renewed by one renewal. */
  renewed?(count: number): void;
  /** A lease lost (invariant 3): the document must no longer be served here. */
  lost?(docId: string, why: string): void;
  /** A timed renewal threw (a callback above did); the next one runs as planned. */
  failed?(error: unknown): void;
}

export const DEFAULT_LEASE_MS = 10_000;

export class LeaseKeeper {
  /** This process's owner id: random, so two processes never share one, even on one machine. */
  readonly owner = randomUUID();
  readonly leaseMs: number;
  readonly #pool: pg.Pool;
  readonly #events: LeaseEvents;
  /** Documents whose lease this process holds, with the epoch it took. */
  readonly #held = new Map<string, number>();
  #lastRenewal = Date.now();
  #timer: NodeJS.Timeout | undefined;
  #renewing: Promise<void> = Promise.resolve();

  constructor(pool: pg.Pool, options: { readonly leaseMs?: number; readonly events?: LeaseEvents } = {}) {
    this.#pool = pool;
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    if (!(this.leaseMs >= 300)) throw new TandemError('invalid-argument', 'leaseMs must be at least 300');
    this.#events = options.events ?? {};
    this.#timer = setInterval(() => {
      // A renewal that throws (an `events` callback did) must not stop every later one.
      this.#renewing = this.#renewing.then(() => this.renew()).catch((error: unknown) => this.#failed(error));
    }, this.leaseMs / 3);
    this.#timer.unref();
  }

  /** The documents this process owns, in id order. */
  get owned(): string[] {
    return [...this.#held.keys()].sort();
  }

  /** Takes the document's lease (invariants 1, 2); a `document-owned` TandemError when another holds it. */
  async claim(docId: string): Promise<void> {
    const taken = await this.#pool.query<{ epoch: string }>(
      `INSERT INTO leases (doc_id, owner, epoch, expires_at)
       VALUES ($1, $2, 1, now() + make_interval(secs => $3::double precision / 1000))
       ON CONFLICT (doc_id) DO UPDATE
         SET owner = EXCLUDED.owner, epoch = leases.epoch + 1, expires_at = EXCLUDED.expires_at
         WHERE leases.expires_at <= now() OR leases.owner = EXCLUDED.owner
       RETURNING epoch`,
      [docId, this.owner, this.leaseMs],
    );
    const epoch = taken.rows[0]?.epoch;
    if (epoch === undefined) {
      const holder = await this.#pool.query<{ left_ms: number }>(
        `SELECT greatest(0, ceil(extract(epoch FROM expires_at - now()) * 1000))::integer AS left_ms
         FROM leases WHERE doc_id = $1`,
        [docId],
      );
      const retryAfterMs = Math.max(100, holder.rows[0]?.left_ms ?? this.leaseMs);
      throw new TandemError(
        'document-owned',
        `document ${docId} is owned by another coordinator (its lease expires in ${retryAfterMs} ms)`,
        { retryAfterMs },
      );
    }
    this.#held.set(docId, Number(epoch));
    this.#events.taken?.(docId);
  }

  /**
   * Expires the lease this process holds on the document (invariant 4); nothing if it holds none. A
   * lease found already expired or taken over was lost before the renewal saw it (a write was fenced
   * first): it is told as lost.
   */
  async release(docId: string): Promise<void> {
    const epoch = this.#held.get(docId);
    if (epoch === undefined) return;
    // Forgotten before the query: should it fail, the lease is no longer renewed and expires within
    // `leaseMs`, instead of being renewed for ever for a document closed here.
    this.#held.delete(docId);
    const released = await this.#pool.query(
      `UPDATE leases SET expires_at = now()
       WHERE doc_id = $1 AND owner = $2 AND epoch = $3 AND expires_at > now()`,
      [docId, this.owner, epoch],
    );
    // Unless a claim took a new lease meanwhile.
    if (released.rowCount === 0 && !this.#held.has(docId)) {
      this.#events.lost?.(docId, 'the lease had expired or was taken over');
    }
  }

  /** Renews every held lease (invariant 3); run by the timer, callable by tests. */
  async renew(): Promise<void> {
    if (this.#held.size === 0) {
      this.#lastRenewal = Date.now();
      return;
    }
    const asked = new Map(this.#held);
    const started = Date.now();
    let renewed: Set<string>;
    try {
      const result = await this.#pool.query<{ doc_id: string; epoch: string }>(
        `UPDATE leases SET expires_at = now() + make_interval(secs => $2::double precision / 1000)
         WHERE owner = $1 AND doc_id = ANY($3) AND expires_at > now()
         RETURNING doc_id, epoch`,
        [this.owner, this.leaseMs, [...asked.keys()]],
      );
      renewed = new Set(
        result.rows.filter((row) => asked.get(row.doc_id) === Number(row.epoch)).map((row) => row.doc_id),
      );
      this.#lastRenewal = started;
    } catch (error) {
      if (Date.now() - this.#lastRenewal < this.leaseMs) return;
      const why = `no renewal for ${this.leaseMs} ms: ${error instanceof Error ? error.message : String(error)}`;
      for (const docId of asked.keys()) this.#lose(docId, asked.get(docId)!, why);
      return;
    }
    this.#events.renewed?.(renewed.size);
    for (const [docId, epoch] of asked) {
      if (!renewed.has(docId)) this.#lose(docId, epoch, 'the lease expired before it was renewed');
    }
  }

  /** Stops renewing and expires every held lease, for another coordinator to take them at once. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#renewing;
    const docIds = [...this.#held.keys()];
    this.#held.clear();
    if (docIds.length === 0) return;
    await this.#pool
      .query('UPDATE leases SET expires_at = now() WHERE owner = $1 AND doc_id = ANY($2)', [
        this.owner,
        docIds,
      ])
      .catch(() => undefined);
  }

  #failed(error: unknown): void {
    try {
      if (this.#events.failed === undefined) throw error;
      this.#events.failed(error);
    } catch (unreported) {
      process.emitWarning(
        `lease renewal failed: ${unreported instanceof Error ? unreported.stack : String(unreported)}`,
      );
    }
  }

  #lose(docId: string, epoch: number, why: string): void {
    // Only the lease that was asked about: a claim may have taken a new one meanwhile.
    if (this.#held.get(docId) !== epoch) return;
    this.#held.delete(docId);
    this.#events.lost?.(docId, why);
  }
}
