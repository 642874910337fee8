// A document's sync status as plain data (it crosses worker and tab boundaries as is), and the list of
// its rejected mutations.
//
// Invariants:
// 1. `StatusFeed.status` is the same object for as long as no field differs (a React external store
//    needs a stable snapshot), and listeners hear a status at most once per microtask turn, and only one
//    that differs from the last they heard.
// 2. A rejection is listed `final` once the coordinator decided it (a push's answer, or the rejections
//    recorded in the pages it sent), and then stays so. Before that the local reducer's verdict stands,
//    provisionally, and is revised by each new run (a rebase may let a rejected mutation apply, or the
//    reverse); a mutation the coordinator took without rejecting it is not listed at all. A verdict of
//    a run over a base the document has since left is never listed: a rebase that leaves the pending
//    mutations to be reduced later withdraws them until that run (local-document.ts invariant 12).
// 3. The list keeps the latest MAX_REJECTIONS_LISTED entries, newest last (a final verdict is news: it
//    moves its entry last).
import type { TandemError } from './errors.js';
import type { Outcome } from './reducer/abi.js';
import type { RedirectRefusal } from './sync/coordinator-list.js';
import type { ReducerIdentity } from './sync/negotiation.js';
import type { ReducerWait, SyncState } from './sync/sync-client.js';

/** A mutation its reducer refused: here, for now (`final: false`), or on the coordinator, for good. */
export interface Rejection {
  readonly lsn: number;
  readonly reason: string;
  /** True once the coordinator decided: the mutation will never apply. */
  readonly final: boolean;
}

/** Where a document's syncing stands. */
export interface SyncStatus {
  readonly syncState: SyncState;
  /** Mutations the coordinator has not taken yet. */
  readonly pendingCount: number;
  /** False from `goOffline()` until `goOnline()`. */
  readonly online: boolean;
  /** The reducer the document runs (the coordinator's, once an upgrade moved it there). */
  readonly reducer?: ReducerIdentity;
  /** The last move to the coordinator's newer reducer since the document opened. */
  readonly upgraded?: { readonly from: ReducerIdentity; readonly to: ReducerIdentity };
  /** In `waiting-for-reducer`: this client's reducer, which the coordinator does not run yet, and the one it runs. */
  readonly waitingFor?: ReducerWait;
  /** Why the last connection ended, while the client retries. */
  readonly lastDrop?: string;
  /**
   * The last redirect the client refused to follow since it was last live (`redirect-loop`,
   * `redirect-insecure`, `redirect-refused`), with the URLs that chain tried (sync/coordinator-list.ts).
   */
  readonly redirectRefused?: RedirectRefusal;
  /** Why nothing pending can reach the coordinator any more (`sync-failed`, `storage-failed`). */
  readonly syncError?: { readonly kind: string; readonly message: string; readonly reason?: string };
  /** The latest rejections of this document's mutations, newest last. */
  readonly rejections: readonly Rejection[];
}

export const MAX_REJECTIONS_LISTED = 100;

/** What a document's status is read from (local-document.ts invariant 9). */
export interface StatusSource {
  readonly syncState: SyncState;
  readonly pendingCount: number;
  readonly online: boolean;
  readonly reducer: ReducerIdentity;
  readonly upgraded: SyncStatus['upgraded'];
  /** The document's connection to the coordinator, if it syncs. */
  readonly sync:
    | {
        readonly waitingFor: ReducerWait | undefined;
        readonly lastDrop: string | undefined;
        readonly redirectRefused: RedirectRefusal | undefined;
      }
    | undefined;
  /** Why syncing stopped for good, or why the timeline failed. */
  readonly error: TandemError | undefined;
  readonly rejections: readonly Rejection[];
}

/** The status as plain data, absent fields left out. */
export function statusOf(source: StatusSource): SyncStatus {
  const { error, upgraded, sync } = source;
  const waitingFor = sync?.waitingFor;
  const lastDrop = sync?.lastDrop;
  const redirectRefused = sync?.redirectRefused;
  return {
    syncState: source.syncState,
    pendingCount: source.pendingCount,
    online: source.online,
    reducer: source.reducer,
    ...(upgraded !== undefined && { upgraded }),
    ...(waitingFor !== undefined && { waitingFor }),
    ...(lastDrop !== undefined && { lastDrop }),
    ...(redirectRefused !== undefined && { redirectRefused }),
    ...(error !== undefined && {
      syncError: {
        kind: error.kind,
        message: error.message,
        ...(error.fields.reason !== undefined && { reason: error.fields.reason }),
      },
    }),
    rejections: source.rejections,
  };
}

export class RejectionList {
  readonly #entries = new Map<number, Rejection>();
  #list: readonly Rejection[] = [];

  /** Newest last; the same array until an entry changes. */
  get list(): readonly Rejection[] {
    return this.#list;
  }

  /** The local reducer's verdict on `lsn` (at `mutate`, or when a rebase runs it again). */
  ran(lsn: number, outcome: Outcome | undefined): void {
    const entry = this.#entries.get(lsn);
    if (entry?.final) return;
    if (outcome?.ok !== false) {
      if (entry !== undefined) this.#remove(lsn);
      return;
    }
    if (entry?.reason === outcome.reason) return;
    this.#put({ lsn, reason: outcome.reason, final: false });
  }

  /**
   * The local reducer's verdicts no longer hold (a rebase left the pending mutations to be reduced
   * again): only the coordinator's stay listed until the next run gives them again.
   */
  withdrawProvisional(): void {
    let removed = false;
    for (const entry of [...this.#entries.values()]) {
      if (entry.final) continue;
      this.#entries.delete(entry.lsn);
      removed = true;
    }
    if (removed) this.#list = [...this.#entries.values()];
  }

  /**
   * The coordinator took every lsn up to `through`; `reasonOf` says which it rejected. Decides the
   * provisional entries it covers, and lists the rejections in `rejected` as final.
   */
  taken(
    through: number,
    rejected: readonly { readonly lsn: number; readonly reason: string }[],
    reasonOf: (lsn: number) => string | undefined,
  ): void {
    for (const { lsn, reason } of rejected) {
      const entry = this.#entries.get(lsn);
      if (entry?.final !== true || entry.reason !== reason) this.#put({ lsn, reason, final: true });
    }
    for (const entry of [...this.#entries.values()]) {
      if (entry.final || entry.lsn > through) continue;
      const reason = reasonOf(entry.lsn);
      if (reason === undefined) this.#remove(entry.lsn);
      else this.#put({ lsn: entry.lsn, reason, final: true });
    }
  }

  #put(rejection: Rejection): void {
    this.#entries.delete(rejection.lsn);
    this.#entries.set(rejection.lsn, rejection);
    for (const lsn of this.#entries.keys()) {
      if (this.#entries.size <= MAX_REJECTIONS_LISTED) break;
      this.#entries.delete(lsn);
    }
    this.#list = [...this.#entries.values()];
  }

  #remove(lsn: number): void {
    this.#entries.delete(lsn);
    this.#list = [...this.#entries.values()];
  }
}

/** Coalesces a document's status changes into events (invariant 1). */
export class StatusFeed {
  readonly #read: () => SyncStatus;
  /** Each listener, and the status it heard last. */
  readonly #listeners = new Map<(status: SyncStatus) => void, SyncStatus>();
  #current: SyncStatus | undefined;
  #key: string | undefined;
  #scheduled = false;

  constructor(read: () => SyncStatus) {
    this.#read = read;
  }

  get status(): SyncStatus {
    const next = this.#read();
    const key = JSON.stringify(next);
    if (key !== this.#key || this.#current === undefined) {
      this.#current = next;
      this.#key = key;
    }
    return this.#current;
  }

  /** Something the status is made of may have changed: the listeners hear it at the end of this turn. */
  changed(): void {
    if (this.#scheduled || this.#listeners.size === 0) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      if (this.#listeners.size === 0) return;
      const status = this.status;
      for (const [listener, heard] of [...this.#listeners]) {
        if (heard === status || !this.#listeners.has(listener)) continue;
        this.#listeners.set(listener, status);
        try {
          listener(status);
        } catch (error) {
          // A listener's bug must not keep the others from hearing, nor vanish.
          queueMicrotask(() => {
            throw error;
          });
        }
      }
    });
  }

  /** `listener` hears each status that differs from the one before (the first: from `status` now). */
  listen(listener: (status: SyncStatus) => void): () => void {
    const wrapped = (status: SyncStatus): void => listener(status);
    this.#listeners.set(wrapped, this.status);
    return () => {
      this.#listeners.delete(wrapped);
    };
  }
}
