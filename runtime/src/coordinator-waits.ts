// What waits on the coordinator: each mutation's fate (`fate`), every mutation taken (`synced`), the
// coordinator's head held (`caughtUp`); the last two wait for the next rebase, then look again.
//
// Invariants:
// 1. One promise per lsn: every `fate(lsn)` made before it settles is the same promise.
// 2. Nothing waits forever (local-document.ts invariant 8): a fate settles once the coordinator took its
//    lsn (`taken`) or rejects at `stop`; whoever waits for a rebase wakes at the next one or at `stop`,
//    and then sees why. A wait that could only end that way rejects at once: `sync-failed` once syncing
//    stopped for good (`syncFailed`), the timeline's failure once it failed (it pushes nothing more),
//    `closed` once the document closed, `invalid-argument` for a document that does not sync.
//    Offline is not failure: taken offline by the app, they keep waiting.
import type { BaseCursor } from './document-base.js';
import { TandemError } from './errors.js';
import type { HeadAnswer, SyncFailure } from './sync/sync-client.js';

/** What the coordinator made of a mutation: taken into a frame, or rejected by its reducer. */
export type MutationFate =
  | { readonly lsn: number; readonly status: 'confirmed' }
  | { readonly lsn: number; readonly status: 'rejected'; readonly reason: string };

/** What of the document the waits read. */
export interface WaitSite {
  readonly docId: string;
  readonly closed: () => boolean;
  /** The lsn the next mutation takes. */
  readonly nextLsn: () => number;
  /** Every lsn up to it was taken by the coordinator. */
  readonly takenThrough: () => number;
  /** The coordinator's reason for rejecting `lsn` (taken), if it did. */
  readonly reasonOf: (lsn: number) => string | undefined;
  /** Why the timeline failed (mutation-queue.ts), if it did. */
  readonly timelineFailure: () => TandemError | undefined;
  /** Resolves once the mutations queued so far are in the timeline (or refused). */
  readonly settled: () => Promise<void>;
  /** True when no mutation waits for the coordinator, queued or pending. */
  readonly nothingPending: () => boolean;
  /** The document's connection to the coordinator, if it syncs. */
  readonly sync: () => { askHead(): Promise<HeadAnswer> } | undefined;
  readonly base: () => BaseCursor;
  /** Syncing stopped for good: the status hears it before anything waiting does. */
  readonly syncStopped: () => void;
}

interface Waiting {
  readonly promise: Promise<MutationFate>;
  readonly resolve: (fate: MutationFate) => void;
  readonly reject: (error: TandemError) => void;
}

export class CoordinatorWaits {
  readonly #site: WaitSite;
  readonly #fates = new Map<number, Waiting>();
  readonly #rebaseWaiters = new Set<() => void>();
  #syncFailure: TandemError | undefined;

  constructor(site: WaitSite) {
    this.#site = site;
  }

  /** Why syncing stopped for good (`syncFailed`), if it did. */
  get syncFailure(): TandemError | undefined {
    return this.#syncFailure;
  }

  /**
   * Resolves once the coordinator has taken mutation `lsn`: confirmed, or rejected with its reducer's
   * reason. Rejects when it never will be (invariant 2), or with `invalid-argument` for an lsn no
   * mutation has.
   */
  fate(lsn: number): Promise<MutationFate> {
    const site = this.#site;
    if (site.closed()) return Promise.reject(closedError(site.docId));
    if (!Number.isSafeInteger(lsn) || lsn < 0 || lsn >= site.nextLsn()) {
      return Promise.reject(
        new TandemError('invalid-argument', `no mutation of document ${site.docId} has lsn ${lsn}`),
      );
    }
    if (lsn <= site.takenThrough()) {
      const reason = site.reasonOf(lsn);
      return Promise.resolve(
        reason === undefined ? { lsn, status: 'confirmed' } : { lsn, status: 'rejected', reason },
      );
    }
    const never = this.#neverSynced();
    if (never !== undefined) return Promise.reject(never);
    return this.#waitFor(lsn);
  }

  /** Resolves once every mutation made so far was taken and rebased on; rejects as `fate` does. */
  async synced(): Promise<void> {
    await this.#site.settled();
    for (;;) {
      this.#throwIfNeverSynced();
      if (this.#site.nothingPending()) return;
      await this.#nextRebase();
    }
  }

  /**
   * Resolves once the base holds at least what the coordinator held when it was asked (its frames up to
   * its head then); rejects as `synced` does.
   */
  async caughtUp(): Promise<void> {
    for (;;) {
      this.#throwIfNeverSynced();
      let answer: HeadAnswer;
      try {
        answer = await this.#site.sync()!.askHead();
      } catch (error) {
        this.#throwIfNeverSynced();
        throw error;
      }
      for (;;) {
        this.#throwIfNeverSynced();
        const { journalId, cursor } = this.#site.base();
        if (journalId === answer.journalId && cursor >= answer.head) return;
        await this.#nextRebase();
        // The coordinator's history was replaced meanwhile: what it held then is gone; ask again.
        if (this.#site.base().journalId !== answer.journalId) break;
      }
    }
  }

  /** The coordinator took every lsn through `appliedLsn`: each waiting fate settles as `fate` says. */
  taken(appliedLsn: number): void {
    for (const [lsn, entry] of this.#fates) {
      if (lsn > appliedLsn) continue;
      this.#fates.delete(lsn);
      this.fate(lsn).then(entry.resolve, entry.reject);
    }
  }

  /** A rebase happened: whoever waits for one wakes. */
  rebased(): void {
    for (const wake of [...this.#rebaseWaiters]) wake();
  }

  /** The SyncClient stopped for good: what waits stops waiting, with `sync-failed` (invariant 2). */
  syncFailed(failure: SyncFailure): void {
    this.#syncFailure ??= new TandemError(
      'sync-failed',
      `document ${this.#site.docId} stopped syncing: ${failure.message}`,
      { reason: failure.reason },
      { cause: failure },
    );
    this.#site.syncStopped();
    this.stop(this.#syncFailure);
  }

  /** Rejects every waiting fate with `error` and wakes whoever waits for a rebase (invariant 2). */
  stop(error: TandemError): void {
    for (const [lsn, entry] of this.#fates) {
      this.#fates.delete(lsn);
      entry.reject(error);
    }
    this.rebased();
  }

  /** The fate of `lsn`, not taken yet: settles at `taken` or `stop` (invariant 1). */
  #waitFor(lsn: number): Promise<MutationFate> {
    let entry = this.#fates.get(lsn);
    if (entry === undefined) {
      let resolve!: (fate: MutationFate) => void;
      let reject!: (error: TandemError) => void;
      const promise = new Promise<MutationFate>((ok, fail) => {
        resolve = ok;
        reject = fail;
      });
      entry = { promise, resolve, reject };
      this.#fates.set(lsn, entry);
    }
    return entry.promise;
  }

  /** Resolves after the next rebase, or once waiting stopped. */
  #nextRebase(): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        this.#rebaseWaiters.delete(done);
        resolve();
      };
      this.#rebaseWaiters.add(done);
    });
  }

  /** Why what waits on the coordinator would wait forever, if it would. */
  #neverSynced(): TandemError | undefined {
    if (this.#syncFailure !== undefined) return this.#syncFailure;
    // A failed timeline pushes nothing more: what is not taken yet never will be from this open.
    const failure = this.#site.timelineFailure();
    if (failure !== undefined) return failure;
    if (this.#site.sync() === undefined) {
      return new TandemError(
        'invalid-argument',
        `document ${this.#site.docId} does not sync with a coordinator`,
      );
    }
    return undefined;
  }

  #throwIfNeverSynced(): void {
    if (this.#site.closed()) throw closedError(this.#site.docId);
    const never = this.#neverSynced();
    if (never !== undefined) throw never;
  }
}

/** What a call on a closed document rejects with. */
export function closedError(docId: string): TandemError {
  return new TandemError('closed', `document ${docId} is closed`);
}
