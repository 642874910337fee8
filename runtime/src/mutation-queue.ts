// A local document's write path: the mutations it was given and has not reduced yet, the timeline they
// are appended to, and the failure that stops it.
//
// Invariants:
// 1. Calls made without awaiting each other are reduced together: the queue flushes once per
//    microtask turn, as one reduce call (one transaction, at most one frame), in the order queued.
// 2. With a journal, a batch is appended to the timeline before it is reduced, and each mutation
//    resolves only once the timeline is synced: a resolved mutation survives any crash.
// 3. After the journal fails, nothing more is reduced (`failure`, `storage-failed`): what is on disk is
//    decided by the next recovery, and acting on an unknown state could lose or duplicate writes.
// 4. While held (`holdUntil`: a move's mark being written, reducer-move.ts invariant 3), nothing queued
//    is reduced or appended; the turn's flush runs once the hold settles, in the order queued.
import { TandemError } from './errors.js';
import type { MutationEnvelope, Outcome } from './reducer/host.js';
import type { DocumentJournal } from './storage/document-journal.js';

export type MutationResult =
  | { readonly lsn: number; readonly status: 'applied' }
  | { readonly lsn: number; readonly status: 'rejected'; readonly reason: string };

/** The document a queue reduces into. */
export interface QueueTarget {
  /** Reduces a batch the timeline holds; its outcomes, in order. */
  reduce(envelopes: readonly MutationEnvelope[]): readonly (Outcome | undefined)[];
  /** The timeline is synced through `lsn` (everything is, without a journal); then the batch resolves. */
  durable(lsn: number): void;
  /** A batch resolved: there may be more to push. */
  resolved(): void;
  /** What the status is made of may have changed. */
  statusChanged(): void;
  /** A turn's flush is over: subscribers may hear the rows. */
  flushed(): void;
  /** The journal failed (invariant 3): whatever waits must stop. */
  failed(failure: TandemError): void;
}

interface Queued {
  readonly envelope: MutationEnvelope;
  readonly resolve: (result: MutationResult) => void;
  readonly reject: (error: unknown) => void;
}

export class MutationQueue {
  #queued: Queued[] = [];
  #flushScheduled = false;
  #syncing: Promise<void> = Promise.resolve();
  #failure: TandemError | undefined;
  #hold: Promise<void> | undefined;
  readonly #docId: string;
  readonly #journal: DocumentJournal | undefined;
  readonly #target: QueueTarget;

  constructor(docId: string, journal: DocumentJournal | undefined, target: QueueTarget) {
    this.#docId = docId;
    this.#journal = journal;
    this.#target = target;
  }

  /** Why the timeline stopped taking writes, once it did (invariant 3). */
  get failure(): TandemError | undefined {
    return this.#failure;
  }

  /** Mutations queued, not yet reduced. */
  get length(): number {
    return this.#queued.length;
  }

  /** Queues a mutation for this turn's flush; resolves once reduced and durable (invariant 2). */
  enqueue(envelope: MutationEnvelope): Promise<MutationResult> {
    return new Promise((resolve, reject) => {
      this.#queued.push({ envelope, resolve, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        // A hold that began after this turn was queued still holds it (invariant 4).
        const flush = (): void => {
          if (this.#hold !== undefined) {
            void this.#hold.then(flush);
            return;
          }
          this.#flush();
          // Subscribers hear the rows before the status that follows this turn (a tab hears both).
          this.#target.flushed();
        };
        queueMicrotask(flush);
      }
      // After the flush: its local verdicts go out with the new pending count.
      this.#target.statusChanged();
    });
  }

  /** The timeline failed: the document's `storage-failed` error, made once. */
  fail(error: unknown): TandemError {
    if (this.#failure === undefined) {
      this.#failure = new TandemError(
        'storage-failed',
        `document ${this.#docId} could not write its timeline; reopen it to recover`,
        {},
        { cause: error },
      );
      this.#target.statusChanged();
      this.#target.failed(this.#failure);
    }
    return this.#failure;
  }

  /** Reduces nothing queued from now until `until` settles, either way (invariant 4). */
  holdUntil(until: Promise<unknown>): void {
    const hold = until.then(
      () => undefined,
      () => undefined,
    );
    this.#hold = hold;
    void hold.then(() => {
      if (this.#hold === hold) this.#hold = undefined;
    });
  }

  /** Waits until every mutation queued so far has been reduced. */
  async drained(): Promise<void> {
    while (this.#queued.length > 0 || this.#flushScheduled) await (this.#hold ?? Promise.resolve());
  }

  /** Waits until the timeline syncs queued so far are over (failed or not). */
  synced(): Promise<void> {
    return this.#syncing;
  }

  /** Waits until every mutation queued so far has been reduced and, with a journal, synced. */
  async settled(): Promise<void> {
    await this.drained();
    await this.#syncing;
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#queued;
    this.#queued = [];
    if (batch.length === 0) return;
    const journal = this.#journal;
    let synced: Promise<void> | undefined;
    let results: MutationResult[];
    try {
      if (this.#failure !== undefined) throw this.#failure;
      if (journal !== undefined) {
        try {
          for (const p of batch) journal.appendMutation(p.envelope);
        } catch (error) {
          throw this.fail(error);
        }
        // What must be durable is the records just appended, not the reduce's outcome. The sync is asked
        // for here, but its writes and fsync run in the microtasks after this call (the timeline's log
        // chains them), so after the reduce: deferring the reduce a turn to overlap them gained nothing
        // measurable (a small fdatasync runs on this thread in Node, host-node fs-byte-store.ts
        // invariant 8). The batch resolves once both are done (invariant 2).
        synced = journal.sync().catch((error: unknown) => {
          throw this.fail(error);
        });
        this.#syncing = Promise.all([this.#syncing, synced.catch(() => undefined)]).then(() => undefined);
      }
      const outcomes = this.#target.reduce(batch.map((p) => p.envelope));
      results = batch.map((p, i) => {
        const outcome = outcomes[i];
        const lsn = p.envelope.lsn;
        if (outcome?.ok) return { lsn, status: 'applied' };
        return { lsn, status: 'rejected', reason: outcome?.reason ?? 'no outcome' };
      });
      this.#target.statusChanged();
    } catch (error) {
      for (const p of batch) p.reject(error);
      this.#target.statusChanged();
      return;
    }
    const resolveAll = (): void => {
      this.#target.durable(batch.at(-1)!.envelope.lsn);
      for (const [i, p] of batch.entries()) p.resolve(results[i]!);
      this.#target.resolved();
    };
    if (synced === undefined) {
      resolveAll();
      return;
    }
    synced.then(resolveAll, (failure: unknown) => {
      for (const p of batch) p.reject(failure);
    });
  }
}
