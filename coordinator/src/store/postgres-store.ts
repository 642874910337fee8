// Documents kept in PostgreSQL (tables in coordinator/sql): an AuthorityStore per document, over one
// pooled connection set per thread (node-postgres `Pool`; a pool cannot cross worker threads).
//
// Invariants (authority-store.ts's, and how they hold here):
// 1. `open` only reads (the document row, the newest image, the frames after it) before `beforeWrite`;
//    the document row, which fixes its journalId, is inserted after it.
// 2. A sync is one statement: it advances `documents.next_frame_lsn` from the value this journal last
//    wrote and inserts the frames in between, so either both land or neither does. Frames never exceed
//    the mark, and a document whose rows yield fewer frames than the mark is refused as
//    `storage-corrupt`. The statement matches no row when another writer moved the mark meanwhile:
//    the sync fails (`storage-failed`) instead of forking the history.
// 3. Syncs run one after another, each taking the frames appended before it began.
// 4. A checkpoint is one transaction: the image inserted, then the frames and older images it covers
//    deleted. An image after more frames than the store's mark is refused (`invalid-argument`).
// 5. After a failed write the journal refuses everything (the document must be reopened).
// 6. With an owner id, `open` reads the epoch of this owner's unexpired lease (none: `document-owned`),
//    and every sync and checkpoint writes only while that lease still holds (checked in the same
//    statement or transaction): a former owner, paused past its lease, writes nothing.

import {
  concatBytes,
  decodeFrameRecord,
  decodePageImage,
  encodeFrameRecord,
  encodePageImage,
  type Frame,
  type PageImage,
  type PageSource,
  TandemError,
} from '@tandem/runtime';
import pg from 'pg';
import type { AuthorityJournal, AuthorityRecovered, AuthorityStore } from '../authority/authority-store.js';
import { DEFAULT_LEASE_MS } from './leases.js';
import { withConnection } from './pool-connection.js';
import { type PoolUse, poolTimeouts } from './store-timeouts.js';

export interface PostgresStoreOptions {
  /** Connections this pool opens at most; 4 by default. */
  readonly maxConnections?: number;
  /**
   * This coordinator's owner id (leases.ts): a document opens only under this owner's unexpired lease,
   * and each write is conditional on that lease's epoch (invariant 6). Without one, nothing is fenced
   * (one writer: tests of the store alone).
   */
  readonly owner?: string;
  /** What the pool is for and the lease time its timeouts follow (store-timeouts.ts); documents and 10 s by default. */
  readonly use?: PoolUse;
  readonly leaseMs?: number;
}

/** The row of a lease still held under an epoch ($1 document, $2 owner, $3 epoch). */
const LEASE_HELD =
  'SELECT 1 FROM leases WHERE doc_id = $1 AND owner = $2 AND epoch = $3 AND expires_at > now()';

/** The lease a journal writes under (leases.ts invariant 1). */
interface Fence {
  readonly owner: string;
  readonly epoch: number;
}

/** One thread's connection to the store. */
export class PostgresStore {
  readonly pool: pg.Pool;
  readonly #owner: string | undefined;

  constructor(url: string, options: PostgresStoreOptions = {}) {
    this.pool = new pg.Pool({
      connectionString: url,
      max: options.maxConnections ?? 4,
      keepAlive: true,
      ...poolTimeouts(options.use ?? 'documents', options.leaseMs ?? DEFAULT_LEASE_MS),
    });
    this.#owner = options.owner;
    // An idle connection that breaks (the server restarted) is dropped by the pool; the next query
    // opens another, and a query that fails is reported where it was made. Without a listener the
    // pool's 'error' event would end the process.
    this.pool.on('error', () => undefined);
  }

  /** The document's AuthorityStore. */
  document(docId: string): AuthorityStore {
    return { open: (options) => PostgresJournal.open(this.pool, docId, this.#owner, options) };
  }

  /** Every document the store holds, in id order. */
  async listDocuments(): Promise<string[]> {
    const rows = await this.pool.query<{ doc_id: string }>('SELECT doc_id FROM documents ORDER BY doc_id');
    return rows.rows.map((row) => row.doc_id);
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

class PostgresJournal implements AuthorityJournal {
  readonly #pool: pg.Pool;
  readonly #docId: string;
  readonly #fence: Fence | undefined;
  /** The mark as this journal last wrote it: the frames before it are durable (invariant 2). */
  #synced: number;
  /** The lsn the next frame appended takes. */
  #next: number;
  #queued: Frame[] = [];
  #syncing: Promise<void> = Promise.resolve();
  #failure: unknown;

  private constructor(pool: pg.Pool, docId: string, fence: Fence | undefined, synced: number) {
    this.#pool = pool;
    this.#docId = docId;
    this.#fence = fence;
    this.#synced = synced;
    this.#next = synced;
  }

  static async open(
    pool: pg.Pool,
    docId: string,
    owner: string | undefined,
    options: Parameters<AuthorityStore['open']>[0],
  ): Promise<{ journal: AuthorityJournal; recovered: AuthorityRecovered }> {
    const fence = owner === undefined ? undefined : await leaseOf(pool, docId, owner);
    const read = await readDocument(pool, docId);
    await options.beforeWrite({ image: read.image, frames: read.frames });
    let journalId = read.journalId;
    if (journalId === undefined) {
      // Two opens racing to create the document agree on the row that landed first.
      const created = await pool.query<{ journal_id: string }>(
        `INSERT INTO documents (doc_id, journal_id) VALUES ($1, $2)
         ON CONFLICT (doc_id) DO UPDATE SET doc_id = EXCLUDED.doc_id
         RETURNING journal_id`,
        [docId, options.journalId],
      );
      journalId = created.rows[0]?.journal_id ?? options.journalId;
    }
    const readable = (read.image?.frameCount ?? 0) + read.frames.length;
    return {
      journal: new PostgresJournal(pool, docId, fence, readable),
      recovered: { journalId, image: read.image, frames: read.frames },
    };
  }

  get nextFrameLsn(): number {
    return this.#next;
  }

  appendFrame(frame: Frame): void {
    this.#checkHealthy();
    if (frame.lsn !== this.nextFrameLsn) {
      throw new RangeError(`frame ${frame.lsn} appended where frame ${this.nextFrameLsn} goes`);
    }
    this.#queued.push(frame);
    this.#next++;
  }

  sync(): Promise<void> {
    const frames = this.#queued.splice(0);
    const run = this.#syncing.then(() => this.#write(frames));
    this.#syncing = run.catch(() => undefined);
    return run;
  }

  async checkpoint(source: PageSource, frameCount: number): Promise<void> {
    // Frames appended but not synced yet are written first, as the file journal's image makes them
    // durable: the image covers them, and the mark below must too.
    await this.sync();
    this.#checkHealthy();
    const image = concatBytes(await encodePageImage(source, frameCount, 'raw'));
    await this.#guard(() =>
      withConnection(this.#pool, async (client) => {
        await client.query('BEGIN');
        if (this.#fence !== undefined) {
          // Locks the lease row: no one takes it over until this checkpoint is in.
          const held = await client.query(`${LEASE_HELD} FOR SHARE`, [
            this.#docId,
            this.#fence.owner,
            this.#fence.epoch,
          ]);
          if (held.rowCount !== 1) throw this.#fenced();
        }
        // Locks the mark too: an image past the frames stored would be served as a history that
        // never was (and drop the frames a later sync writes under it).
        const mark = await client.query<{ next_frame_lsn: string }>(
          'SELECT next_frame_lsn FROM documents WHERE doc_id = $1 FOR SHARE',
          [this.#docId],
        );
        const stored = Number(mark.rows[0]?.next_frame_lsn ?? 0);
        if (frameCount > stored) {
          throw new TandemError(
            'invalid-argument',
            `document ${this.#docId}: a checkpoint after ${frameCount} frames, but the store holds ${stored}; nothing was stored`,
            { framesExpected: frameCount, framesReadable: stored },
          );
        }
        await client.query(
          `INSERT INTO images (doc_id, frame_count, image) VALUES ($1, $2, $3)
           ON CONFLICT (doc_id, frame_count) DO NOTHING`,
          [this.#docId, frameCount, image],
        );
        await client.query('DELETE FROM frames WHERE doc_id = $1 AND lsn < $2', [this.#docId, frameCount]);
        await client.query('DELETE FROM images WHERE doc_id = $1 AND frame_count < $2', [
          this.#docId,
          frameCount,
        ]);
        await client.query('COMMIT');
      }),
    );
  }

  async #write(frames: readonly Frame[]): Promise<void> {
    this.#checkHealthy();
    if (frames.length === 0) return;
    const from = this.#synced;
    const to = from + frames.length;
    if (frames[0]?.lsn !== from)
      throw new RangeError(`frames from ${frames[0]?.lsn} written where ${from} goes`);
    const values: string[] = [];
    const fence = this.#fence;
    const params: unknown[] = [this.#docId, from, to, fence?.owner ?? null, fence?.epoch ?? null];
    for (const frame of frames) {
      params.push(frame.lsn, encodeFrameRecord(frame));
      values.push(`($${params.length - 1}::bigint, $${params.length}::bytea)`);
    }
    await this.#guard(async () => {
      const result = await this.#pool.query(
        // The lease row is locked, not read from the statement's snapshot: a takeover committing
        // meanwhile is waited for (and then refuses this write), and none commits until this one is in.
        `WITH fence AS (
           SELECT 1 FROM leases
           WHERE doc_id = $1 AND owner = $4 AND epoch = $5::bigint AND expires_at > now()
           FOR SHARE
         ), mark AS (
           UPDATE documents SET next_frame_lsn = $3
           WHERE doc_id = $1 AND next_frame_lsn = $2
             AND ($4::text IS NULL OR EXISTS (SELECT 1 FROM fence))
           RETURNING doc_id
         )
         INSERT INTO frames (doc_id, lsn, record)
         SELECT mark.doc_id, f.lsn, f.record FROM mark, (VALUES ${values.join(', ')}) AS f (lsn, record)`,
        params,
      );
      if (result.rowCount !== frames.length) {
        if (fence !== undefined && !(await this.#holds(fence))) throw this.#fenced();
        throw new TandemError(
          'storage-failed',
          `document ${this.#docId}: frames ${from}..${to - 1} were not written: its frame count in the store is no longer ${from} (another writer)`,
        );
      }
    });
    this.#synced = to;
  }

  async #holds(fence: Fence): Promise<boolean> {
    const held = await this.#pool.query(LEASE_HELD, [this.#docId, fence.owner, fence.epoch]);
    return held.rowCount === 1;
  }

  #fenced(): TandemError {
    return new TandemError(
      'document-owned',
      `document ${this.#docId}: this coordinator's lease (epoch ${this.#fence?.epoch}) is lost; nothing was written`,
      { retryAfterMs: 1000 },
    );
  }

  async #guard(step: () => Promise<void>): Promise<void> {
    this.#checkHealthy();
    try {
      await step();
    } catch (error) {
      this.#failure ??= error;
      throw error;
    }
  }

  #checkHealthy(): void {
    if (this.#failure !== undefined) {
      throw new Error('the journal failed and must be recovered', { cause: this.#failure });
    }
  }
}

/** The epoch of `owner`'s unexpired lease on the document (invariant 6). */
async function leaseOf(pool: pg.Pool, docId: string, owner: string): Promise<Fence> {
  const lease = await pool.query<{ epoch: string }>(
    'SELECT epoch FROM leases WHERE doc_id = $1 AND owner = $2 AND expires_at > now()',
    [docId, owner],
  );
  const epoch = lease.rows[0]?.epoch;
  if (epoch === undefined) {
    throw new TandemError(
      'document-owned',
      `document ${docId} opens only under this coordinator's lease, which it does not hold`,
      {
        retryAfterMs: 1000,
      },
    );
  }
  return { owner, epoch: Number(epoch) };
}

interface DocumentRead {
  readonly journalId: string | undefined;
  readonly image: PageImage | undefined;
  readonly frames: Frame[];
}

/** The document's rows, read in one snapshot (a repeatable-read transaction), checked against its mark. */
async function readDocument(pool: pg.Pool, docId: string): Promise<DocumentRead> {
  const { mark, images, records } = await withConnection(pool, async (client) => {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const mark = (
      await client.query<{ journal_id: string; next_frame_lsn: string }>(
        'SELECT journal_id, next_frame_lsn FROM documents WHERE doc_id = $1',
        [docId],
      )
    ).rows[0];
    const images = (
      await client.query<{ frame_count: string; image: Buffer }>(
        'SELECT frame_count, image FROM images WHERE doc_id = $1 ORDER BY frame_count DESC LIMIT 1',
        [docId],
      )
    ).rows;
    const from = images[0]?.frame_count ?? '0';
    const records = (
      await client.query<{ lsn: string; record: Buffer }>(
        'SELECT lsn, record FROM frames WHERE doc_id = $1 AND lsn >= $2 ORDER BY lsn',
        [docId, from],
      )
    ).rows;
    await client.query('COMMIT');
    return { mark, images, records };
  });
  const expected = Number(mark?.next_frame_lsn ?? 0);
  const stored = images[0];
  const image = stored === undefined ? undefined : await decodePageImage(bytesOf(stored.image));
  let next = image?.frameCount ?? 0;
  const frames: Frame[] = [];
  for (const row of records) {
    if (Number(row.lsn) !== next) break;
    frames.push(decodeFrameRecord(next, bytesOf(row.record)));
    next++;
  }
  if (next < expected) {
    throw new TandemError(
      'storage-corrupt',
      `document ${docId} holds ${next} of the ${expected} frames it synced in PostgreSQL (frames ${next}..${expected - 1} missing)`,
      { file: `frames of ${docId}`, framesExpected: expected, framesReadable: next },
    );
  }
  return { journalId: mark?.journal_id, image, frames };
}

/** A Buffer's bytes as a Uint8Array of their own (decoders keep slices of what they are given). */
function bytesOf(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}
