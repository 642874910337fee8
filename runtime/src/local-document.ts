// A local document: a replica of one database, its reducer and this client's timeline. Hosts
// (host-node, host-browser) open the replica and migrate it; this class owns what happens next.
//
// Invariants:
// 1. Mutations get consecutive lsns (0, 1, 2, …) in the order `mutate`/`mutateBatch` were called,
//    and are reduced in that order.
// 2. Calls made without awaiting each other are reduced together: one reduce call, one
//    transaction, at most one frame (the queue flushes once per microtask turn).
// 3. After `close`, every call rejects with a `closed` error; queued mutations are still applied
//    before the replica closes.

import { TandemError } from './errors.js';
import type { MutationEnvelope } from './reducer/host.js';
import type { Replica } from './replica.js';
import type { PlainValue } from './value.js';

/** What opening did to the schema: the versions before and after `migrate`. */
export interface MigrationReport {
  readonly fromVersion: number;
  readonly toVersion: number;
  /** False when the database was already at the reducer's version. */
  readonly migrated: boolean;
}

export interface MutateOptions {
  /** The envelope's timestamp (ms since the epoch); `Date.now()` by default. */
  readonly timestamp?: number;
}

export type MutationResult =
  | { readonly lsn: number; readonly status: 'applied' }
  | { readonly lsn: number; readonly status: 'rejected'; readonly reason: string };

export type Row = Record<string, PlainValue>;

interface Pending {
  readonly envelope: MutationEnvelope;
  readonly resolve: (result: MutationResult) => void;
  readonly reject: (error: unknown) => void;
}

export class LocalDocument {
  readonly docId: string;
  readonly timelineId: string;
  /** What opening did to the schema: the versions before and after `migrate`. */
  readonly migration: MigrationReport;
  private readonly replica: Replica;
  private nextLsn = 0;
  private queue: Pending[] = [];
  private flushScheduled = false;
  private closed = false;

  constructor(docId: string, timelineId: string, replica: Replica, migration: MigrationReport) {
    this.docId = docId;
    this.timelineId = timelineId;
    this.replica = replica;
    this.migration = migration;
  }

  /** Queues one mutation; resolves once it has been applied (or rejected) locally. */
  mutate(mutation: unknown, options: MutateOptions = {}): Promise<MutationResult> {
    return this.enqueue(mutation, options);
  }

  /** Queues several mutations to be reduced in one call; one result per mutation, in order. */
  mutateBatch(mutations: readonly unknown[], options: MutateOptions = {}): Promise<MutationResult[]> {
    return Promise.all(mutations.map((m) => this.enqueue(m, options)));
  }

  async query(sql: string, params: readonly (PlainValue | boolean)[] = []): Promise<Row[]> {
    this.assertOpen();
    await this.settled();
    return this.replica.query(sql, params);
  }

  /** Hex SHA-256 over the database pages: equal hashes mean byte-identical databases. */
  async pageHash(): Promise<string> {
    this.assertOpen();
    await this.settled();
    return this.replica.pageHash();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.settled();
    this.closed = true;
    this.replica.close();
  }

  private enqueue(mutation: unknown, options: MutateOptions): Promise<MutationResult> {
    if (this.closed) return Promise.reject(closedError(this.docId));
    let payload: Uint8Array;
    try {
      payload = encodePayload(mutation);
    } catch (error) {
      return Promise.reject(error);
    }
    const envelope: MutationEnvelope = {
      timelineId: this.timelineId,
      lsn: this.nextLsn++,
      timestamp: options.timestamp ?? Date.now(),
      payload,
    };
    return new Promise((resolve, reject) => {
      this.queue.push({ envelope, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        queueMicrotask(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    try {
      const outcomes = this.replica.applyBatch(batch.map((p) => p.envelope));
      batch.forEach((p, i) => {
        const outcome = outcomes[i];
        const lsn = p.envelope.lsn;
        if (outcome?.ok) p.resolve({ lsn, status: 'applied' });
        else p.resolve({ lsn, status: 'rejected', reason: outcome?.reason ?? 'no outcome' });
      });
    } catch (error) {
      for (const p of batch) p.reject(error);
    }
  }

  /** Waits until every mutation queued so far has been applied. */
  private async settled(): Promise<void> {
    while (this.queue.length > 0 || this.flushScheduled) await Promise.resolve();
  }

  private assertOpen(): void {
    if (this.closed) throw closedError(this.docId);
  }
}

function encodePayload(mutation: unknown): Uint8Array {
  if (mutation instanceof Uint8Array) return mutation;
  const json = JSON.stringify(mutation);
  if (json === undefined) {
    throw new TandemError('invalid-argument', 'a mutation must be JSON-serializable or a Uint8Array');
  }
  return new TextEncoder().encode(json);
}

function closedError(docId: string): TandemError {
  return new TandemError('closed', `document ${docId} is closed`);
}
