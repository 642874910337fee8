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
// 3. Every held lease is renewed every `leaseMs / 3`, all in one statement (a renewal still running
//    when the next is due is not doubled: its pool's timeouts end it within that period,
//    store-timeouts.ts). A lease the renewal does not find (it expired, so another coordinator may
//    hold it) is lost: `onLost` is told, and the caller stops serving the document (closes its
//    clients, closes it).
// 4. The local expiry clock: a lease counts as held only until the claim or renewal that last
//    confirmed it was *sent*, plus `leaseMs`, minus `safetyMs` — whether or not PostgreSQL answers
//    since. The database set its expiry from its own `now()` at that statement, which is no earlier
//    than the send, so this process gives the lease up before any other coordinator can take it. The
//    margin (leaseMs / 10) covers this process's timer firing late (a busy event loop) and the rate
//    difference between its monotonic clock and the database's (parts per million); a database clock
//    that is *stepped* forward shortens leases by the step, which no margin covers. A PostgreSQL that
//    hangs (stopped, or the lease rows locked by another session) thus never leaves this process
//    believing it owns documents it may have lost.
// 5. A released lease (the document closed here) is expired at once, not deleted: the next owner
//    need not wait, and the epoch keeps growing. It is no longer held from the moment the release
//    starts: should the expiry fail, no renewal extends it (renewals name the held documents), and it
//    runs out within `leaseMs`. A renewal answered after its lease was given up here (lost by the
//    clock, or released) expires it again — that lease, at the epoch the renewal asked about, never a
//    newer one this process claimed meanwhile.
// 6. A take records this process's public URL with the lease (`address`, sql/0003-lease-owner-url.sql),
//    and a refused claim names the holder's (`ownerUrl`): the caller redirects its client there.
// 7. Takeover follows expiry: a claim refused by another owner's lease with less than `leaseMs / 2`
//    left (an owner renewing every third of a lease keeps at least two thirds of it left, so this one
//    is a sixth of a lease late: most likely dead, or cut off from PostgreSQL) is not sent to that
//    owner: the claim waits until the lease's expiry by the database's clock and tries again, and so
//    on while the lease stays overdue, for at most `leaseMs` in all. Fencing is unchanged: only the
//    claim statement decides, and it takes a lease only once the database says it expired. An owner
//    that renews after all is alive: a claim refused again whose lease's expiry moved later than the
//    last refusal said is refused at once (as in invariant 2), whatever the time left — an owner with
//    a shorter `leaseMs` than this process's always has less than `overdueMs` left, and would otherwise
//    hold the client up for a whole lease of this process's. The cost of a wrong guess is a client held
//    up to one lease of the owner's before its redirect; the fence is unchanged by either.
import { randomUUID } from 'node:crypto';
import { TandemError } from '@tandem/runtime';
import type pg from 'pg';

export interface LeaseEvents {
  /** A lease taken (`claim` succeeded). */
  taken?(docId: string): void;
  /** Leases renewed by one renewal. */
  renewed?(count: number): void;
  /** A lease lost (invariants 3, 4): the document must no longer be served here. */
  lost?(docId: string, why: string): void;
  /** A timed renewal threw (a callback above did); the next one runs as planned. */
  failed?(error: unknown): void;
}

export const DEFAULT_LEASE_MS = 10_000;
/**
 * How long past an overdue lease's expiry (by the database's clock, read one round trip earlier) a
 * waiting claim tries again: a claim a little early is refused and waits again, never taken early.
 */
const EXPIRY_SLACK_MS = 10;

/** A lease this process holds. */
interface Held {
  readonly epoch: number;
  /** `performance.now()` past which it no longer counts as held (invariant 4). */
  validUntil: number;
}

export class LeaseKeeper {
  /** This process's owner id: random, so two processes never share one, even on one machine. */
  readonly owner = randomUUID();
  readonly leaseMs: number;
  /** How long before the database's expiry this process gives a lease up (invariant 4). */
  readonly safetyMs: number;
  /** Another owner's lease with less than this left missed its renewals (invariant 7). */
  readonly overdueMs: number;
  readonly #pool: pg.Pool;
  readonly #events: LeaseEvents;
  /** Documents whose lease this process holds. */
  readonly #held = new Map<string, Held>();
  #timer: NodeJS.Timeout | undefined;
  /** Fires at the earliest `validUntil` of the held leases (invariant 4). */
  #expiry: NodeJS.Timeout | undefined;
  #renewing: Promise<void> | undefined;
  #closed = false;
  /** Claims waiting for an overdue lease to expire (invariant 7), woken by `close`. */
  readonly #sleeping = new Set<() => void>();

  /** Where clients reach this process (invariant 6); undefined for nowhere known. */
  readonly #address: () => string | undefined;

  /**
   * `pool` should be the leases' own (store-timeouts.ts, `leases`): a pool busy with frame writes, or
   * without timeouts, delays renewals, and the leases are then lost by the clock.
   */
  constructor(
    pool: pg.Pool,
    options: {
      readonly leaseMs?: number;
      readonly events?: LeaseEvents;
      readonly address?: () => string | undefined;
    } = {},
  ) {
    this.#pool = pool;
    this.#address = options.address ?? (() => undefined);
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    if (!(this.leaseMs >= 300)) throw new TandemError('invalid-argument', 'leaseMs must be at least 300');
    this.safetyMs = Math.ceil(this.leaseMs / 10);
    this.overdueMs = Math.ceil(this.leaseMs / 2);
    this.#events = options.events ?? {};
    this.#timer = setInterval(() => {
      // One renewal at a time (invariant 3); one that throws (an `events` callback did) must not
      // stop every later one.
      if (this.#renewing !== undefined) return;
      this.#renewing = this.renew()
        .catch((error: unknown) => this.#failed(error))
        .finally(() => {
          this.#renewing = undefined;
        });
    }, this.leaseMs / 3);
    this.#timer.unref();
  }

  /** The documents this process owns, in id order. */
  get owned(): string[] {
    this.#expire();
    return [...this.#held.keys()].sort();
  }

  /**
   * Takes the document's lease (invariants 1, 2, 7); a `document-owned` TandemError when another holds
   * it. A lease whose owner missed its renewals is waited for, and taken as it expires (invariant 7).
   */
  async claim(docId: string): Promise<void> {
    const deadline = performance.now() + this.leaseMs;
    /** The last refusal: its lease's time left, and when its answer came (local clock). */
    let last: { leftMs: number; at: number } | undefined;
    for (;;) {
      const sent = performance.now();
      const refused = await this.#claimOnce(docId);
      if (refused === undefined) return;
      // Renewed since the last refusal (its expiry moved later: the time left shrank by less than the
      // time passed, at least sent - last.at): its holder is alive, whatever its lease time.
      const renewed = last !== undefined && refused.leftMs > last.leftMs - (sent - last.at) + 2;
      last = { leftMs: refused.leftMs, at: performance.now() };
      const wait = refused.leftMs + EXPIRY_SLACK_MS;
      if (
        this.#closed ||
        renewed ||
        refused.leftMs >= this.overdueMs ||
        performance.now() + wait > deadline
      ) {
        const retryAfterMs = Math.max(100, refused.leftMs);
        const { ownerUrl } = refused;
        throw new TandemError(
          'document-owned',
          `document ${docId} is owned by another coordinator${ownerUrl === undefined ? '' : ` at ${ownerUrl}`} (its lease expires in ${retryAfterMs} ms)`,
          { retryAfterMs, ...(ownerUrl !== undefined && { ownerUrl }) },
        );
      }
      await this.#sleep(wait);
      if (this.#closed) throw new TandemError('closed', `document ${docId}: the coordinator is closing`);
    }
  }

  /** One try at taking the lease: undefined once taken, else what the holder's lease has left. */
  async #claimOnce(docId: string): Promise<{ leftMs: number; ownerUrl: string | undefined } | undefined> {
    const sent = performance.now();
    const taken = await this.#pool.query<{ epoch: string }>(
      `INSERT INTO leases (doc_id, owner, epoch, expires_at, owner_url)
       VALUES ($1, $2, 1, now() + make_interval(secs => $3::double precision / 1000), $4)
       ON CONFLICT (doc_id) DO UPDATE
         SET owner = EXCLUDED.owner, epoch = leases.epoch + 1, expires_at = EXCLUDED.expires_at,
             owner_url = EXCLUDED.owner_url
         WHERE leases.expires_at <= now() OR leases.owner = EXCLUDED.owner
       RETURNING epoch`,
      [docId, this.owner, this.leaseMs, this.#address() ?? null],
    );
    const epoch = taken.rows[0]?.epoch;
    if (epoch === undefined) {
      const holder = await this.#pool.query<{ left_ms: number; owner_url: string | null }>(
        `SELECT greatest(0, ceil(extract(epoch FROM expires_at - now()) * 1000))::integer AS left_ms, owner_url
         FROM leases WHERE doc_id = $1`,
        [docId],
      );
      return {
        leftMs: holder.rows[0]?.left_ms ?? this.leaseMs,
        ownerUrl: holder.rows[0]?.owner_url ?? undefined,
      };
    }
    const held: Held = { epoch: Number(epoch), validUntil: this.#validUntil(sent) };
    if (this.#closed || performance.now() >= held.validUntil) {
      // Answered too late to count (or after close): given back, as a lost lease would be.
      this.#expireInStore(docId, held.epoch);
      throw new TandemError(
        'document-owned',
        `document ${docId}: its lease was confirmed too late to be held (after ${Math.round(performance.now() - sent)} ms)`,
        { retryAfterMs: 1000 },
      );
    }
    this.#held.set(docId, held);
    this.#armExpiry();
    this.#events.taken?.(docId);
    return undefined;
  }

  /** Resolves after `ms`, or at once when this keeper closes. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#sleeping.delete(wake);
        resolve();
      }, ms);
      const wake = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.#sleeping.add(wake);
    });
  }

  /**
   * Expires the lease this process holds on the document (invariant 5); nothing if it holds none. A
   * lease found already expired or taken over was lost before the renewal saw it (a write was fenced
   * first): it is told as lost.
   */
  async release(docId: string): Promise<void> {
    const held = this.#held.get(docId);
    if (held === undefined) return;
    // Forgotten before the query: should it fail, the lease is no longer renewed and expires within
    // `leaseMs`, instead of being renewed for ever for a document closed here.
    this.#held.delete(docId);
    const released = await this.#pool.query(
      `UPDATE leases SET expires_at = now()
       WHERE doc_id = $1 AND owner = $2 AND epoch = $3 AND expires_at > now()`,
      [docId, this.owner, held.epoch],
    );
    // Unless a claim took a new lease meanwhile.
    if (released.rowCount === 0 && !this.#held.has(docId)) {
      this.#events.lost?.(docId, 'the lease had expired or was taken over');
    }
  }

  /** Renews every held lease (invariant 3); run by the timer, callable by tests. */
  async renew(): Promise<void> {
    this.#expire();
    if (this.#held.size === 0) return;
    const asked = new Map([...this.#held].map(([docId, held]) => [docId, held.epoch]));
    const sent = performance.now();
    let rows: { doc_id: string; epoch: string }[];
    try {
      rows = (
        await this.#pool.query<{ doc_id: string; epoch: string }>(
          `UPDATE leases SET expires_at = now() + make_interval(secs => $2::double precision / 1000)
           WHERE owner = $1 AND doc_id = ANY($3) AND expires_at > now()
           RETURNING doc_id, epoch`,
          [this.owner, this.leaseMs, [...asked.keys()]],
        )
      ).rows;
    } catch {
      // Not answered (PostgreSQL unreachable, hung, or the rows locked past the pool's timeout): the
      // leases run on their clock, and the next renewal tries again.
      this.#expire();
      return;
    }
    const validUntil = this.#validUntil(sent);
    let renewed = 0;
    for (const row of rows) {
      const held = this.#held.get(row.doc_id);
      if (held !== undefined && held.epoch === Number(row.epoch)) {
        held.validUntil = Math.max(held.validUntil, validUntil);
        renewed++;
      } else if (Number(row.epoch) === asked.get(row.doc_id)) {
        // Given up here while the renewal ran (invariant 5): not to be held by no one for a lease.
        this.#expireInStore(row.doc_id, Number(row.epoch));
      }
      // A newer epoch is a claim's made here since the renewal was sent, whose answer has not come
      // back yet: that claim holds it (or gives it back itself).
    }
    this.#events.renewed?.(renewed);
    const found = new Set(rows.map((row) => row.doc_id));
    for (const [docId, epoch] of asked) {
      if (!found.has(docId)) this.#lose(docId, epoch, 'the lease expired before it was renewed');
    }
    this.#expire();
    this.#armExpiry();
  }

  /** Stops renewing and expires every held lease, for another coordinator to take them at once. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const wake of this.#sleeping) wake();
    this.#sleeping.clear();
    clearInterval(this.#timer);
    clearTimeout(this.#expiry);
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

  #validUntil(sent: number): number {
    return sent + this.leaseMs - this.safetyMs;
  }

  /** Loses every lease whose local clock ran out (invariant 4). */
  #expire(): void {
    const now = performance.now();
    for (const [docId, held] of this.#held) {
      if (now >= held.validUntil) {
        this.#lose(
          docId,
          held.epoch,
          `no renewal confirmed it in ${this.leaseMs - this.safetyMs} ms (PostgreSQL did not answer in time)`,
        );
      }
    }
  }

  #armExpiry(): void {
    clearTimeout(this.#expiry);
    this.#expiry = undefined;
    if (this.#closed || this.#held.size === 0) return;
    const earliest = Math.min(...[...this.#held.values()].map((held) => held.validUntil));
    this.#expiry = setTimeout(
      () => {
        this.#expiry = undefined;
        this.#expire();
        this.#armExpiry();
      },
      Math.max(0, earliest - performance.now()),
    );
    this.#expiry.unref();
  }

  /** Best effort: a lease given up here expires in the store now rather than at its time. */
  #expireInStore(docId: string, epoch: number): void {
    this.#pool
      .query(
        `UPDATE leases SET expires_at = now()
         WHERE doc_id = $1 AND owner = $2 AND epoch = $3 AND expires_at > now()`,
        [docId, this.owner, epoch],
      )
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
    if (this.#held.get(docId)?.epoch !== epoch) return;
    this.#held.delete(docId);
    this.#events.lost?.(docId, why);
  }
}
