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
// 4. With a journal, a mutation is appended to the timeline before it is reduced, and its `mutate`
//    resolves only once the timeline is synced: a resolved mutation survives any crash. Opening replays
//    the pending mutations the journal recovered, so the document shows them again.
// 5. After the journal fails, nothing more is accepted (`storage-failed`): what is on disk is decided by
//    the next recovery, and acting on an unknown state could lose or duplicate writes.
// 6. Synced (a SyncClient attached): the replica's base is the coordinator's pages up to `baseCursor`,
//    its overlay is exactly the pending mutations (lsn above this timeline's applied marker in the base)
//    reduced in lsn order. A rebase keeps it so: drop the overlay, apply the burst to the base, drop the
//    mutations the marker covers, reduce the rest again.
// 7. A mutation outside the bounds the coordinator enforces (protocol/mutation-bounds.ts) is refused by
//    `mutate` with `invalid-argument` before it takes an lsn or reaches the timeline: a bad argument
//    never fails storage, and nothing accepted here is refused by the coordinator as malformed.
// 8. Nothing waits forever: `fate`, `synced` and `caughtUp` settle once the coordinator took (or sent)
//    what they wait for, or
//    reject — with `sync-failed` once syncing stopped for good (the SyncClient's `syncFailed`), with
//    `closed` once the document closed, with `invalid-argument` for a document that does not sync.
//    Taken offline by the app (`goOffline`), they keep waiting: offline is not failure.
// 9. `status` (document-status.ts) is read from the document's state, never kept apart; whatever may
//    change it (a mutation queued or dropped, a rebase, a push's answer, the SyncClient, a failure,
//    `goOffline`/`goOnline`, `close`) tells the feed, which coalesces it into one event per turn.
// 10. The persisted overlay (storage/overlay-cache.ts) is only a cache of invariant 6's overlay: it is
//    saved from the document at rest, once every mutation it holds is durable in the timeline, and
//    opening reduces again only the pending mutations after those it covers. Nothing leaves the
//    timeline because of it.

import { RejectionList, StatusFeed, type SyncStatus } from './document-status.js';
import { TandemError } from './errors.js';
import type { Frame } from './frame.js';
import { mutationProblem } from './protocol/mutation-bounds.js';
import {
  type ArrayQueryOptions,
  type ArrayRows,
  type QueryOptions,
  type Row,
  rowShape,
  shapeRows,
} from './query-rows.js';
import { Subscriptions } from './reactive/subscriptions.js';
import type { MutationEnvelope, Outcome } from './reducer/host.js';
import type { Replica } from './replica.js';
import type { ClientBase } from './storage/client-base.js';
import type { DocumentJournal } from './storage/document-journal.js';
import type { OverlayKeeper } from './storage/overlay-cache.js';
import type { PageImage } from './storage/page-image.js';
import type { HeadAnswer, SyncClient, SyncFailure, SyncState, SyncTarget } from './sync/sync-client.js';
import { type PlainValue, toValue } from './value.js';

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

export type { ArrayQueryOptions, ArrayRows, IntegerMode, QueryOptions, Row } from './query-rows.js';

/** `subscribe`'s options: the rows' shape (QueryOptions) and where a failing query is told. */
export interface SubscribeOptions extends QueryOptions {
  readonly onError?: (error: unknown) => void;
}

/** One of this client's mutations its reducer refused (`rejections()`). */
export interface RejectedMutation {
  readonly lsn: number;
  readonly reason: string;
  /** True once the coordinator decided (it will never apply); false for the local reducer's verdict. */
  readonly final: boolean;
  /** The mutation's bytes as `mutate` stored them, while this document holds them. */
  readonly payload?: Uint8Array;
  /** The payload read as JSON (what `mutate` was given, when that was a JSON value). */
  readonly mutation?: unknown;
}

/** What the coordinator made of a mutation: taken into a frame, or rejected by its reducer. */
export type MutationFate =
  | { readonly lsn: number; readonly status: 'confirmed' }
  | { readonly lsn: number; readonly status: 'rejected'; readonly reason: string };

interface Pending {
  readonly envelope: MutationEnvelope;
  readonly resolve: (result: MutationResult) => void;
  readonly reject: (error: unknown) => void;
}

export interface LocalDocumentParts {
  readonly docId: string;
  readonly timelineId: string;
  /** Proves the timeline is this replica's to the coordinator (storage/timeline-secret.ts). */
  readonly timelineSecret: string;
  readonly replica: Replica;
  readonly migration: MigrationReport;
  /** Where the timeline is kept; without one the document lives in memory only. */
  readonly journal?: DocumentJournal;
  /** Pending mutations recovered from the journal, replayed before anything else. */
  readonly pending?: readonly MutationEnvelope[];
  /** Releases what the host opened for this document (files), after the replica closed. */
  readonly onClose?: () => Promise<void>;
  /**
   * Records at close how far the timeline went (the next lsn), so that a timeline found shorter at the
   * next open is reported, not replayed silently shorter (storage/client-identity.ts).
   */
  readonly recordReach?: (nextLsn: number) => Promise<void>;
  /** This timeline's applied marker as the replica's pages record it (-1 for none). */
  readonly readAppliedLsn?: () => number;
  /** The coordinator's reasons for this timeline's rejected mutations in [from, to], from the pages. */
  readonly readRejections?: (from: number, to: number) => ReadonlyMap<number, string>;
  /** Runs after a rebase, before the pending mutations: brings the overlay to the reducer's schema. */
  readonly prepareOverlay?: () => void;
  /** Where the base is kept, and where it stood when the document was opened. */
  readonly base?: { readonly keeper: ClientBase; readonly journalId: string | null; readonly cursor: number };
  /**
   * Where the overlay is persisted (storage/overlay-cache.ts), and what opening restored from it: the
   * replica's overlay already holds the pending mutations through `throughLsn`, with these local
   * rejections among them.
   */
  readonly overlay?: {
    readonly keeper: OverlayKeeper;
    readonly restored?: {
      readonly throughLsn: number;
      readonly rejections: readonly (readonly [number, string])[];
    };
  };
}

/** The payloads of this many of the coordinator's rejections are kept in memory for `rejections()`. */
const REJECTED_PAYLOADS_KEPT = 1000;
/** Replaying pending mutations in runs of this size bounds the work of one transaction. */
const REPLAY_BATCH = 1000;
/**
 * The persisted overlay is saved in the background once this many pending mutations (and at least half
 * of them) are not in it, so a crash costs at most that replay; a clean close saves it whatever the count.
 */
const OVERLAY_SAVE_AFTER = 2000;

export class LocalDocument implements SyncTarget {
  readonly docId: string;
  readonly timelineId: string;
  readonly timelineSecret: string;
  /** What opening did to the schema: the versions before and after `migrate`. */
  readonly migration: MigrationReport;
  /** How many pending mutations opening recovered from the journal (and shows again). */
  readonly replayed: number;
  /** How many of those the reducer ran again; the others came from the persisted overlay. */
  readonly rerun: number;
  private readonly replica: Replica;
  private readonly journal: DocumentJournal | undefined;
  private readonly onClose: (() => Promise<void>) | undefined;
  private readonly recordReach: ((nextLsn: number) => Promise<void>) | undefined;
  private nextLsn = 0;
  /** The last lsn the document held when it opened (its recovered timeline, or its base's marker). */
  private readonly openedAt: number;
  private queue: Pending[] = [];
  private flushScheduled = false;
  private syncing: Promise<void> = Promise.resolve();
  private failure: TandemError | undefined;
  private closed = false;
  /** Reduced locally, not yet taken by the coordinator, in lsn order. */
  private pending: MutationEnvelope[] = [];
  private readonly readAppliedLsn: (() => number) | undefined;
  private readonly readRejections: ((from: number, to: number) => ReadonlyMap<number, string>) | undefined;
  private readonly prepareOverlay: (() => void) | undefined;
  private base: { journalId: string | null; cursor: number } = { journalId: null, cursor: 0 };
  private sync: SyncClient | undefined;
  private readonly keeper: ClientBase | undefined;
  /** Background storage work (base frames, timeline truncation), in order. */
  private housekeeping: Promise<void> = Promise.resolve();
  private readonly fates = new Map<
    number,
    {
      promise: Promise<MutationFate>;
      resolve: (fate: MutationFate) => void;
      reject: (error: TandemError) => void;
    }
  >();
  /** Why syncing stopped for good: what waits on the coordinator rejects with it (invariant 8). */
  private syncFailure: TandemError | undefined;
  private readonly rebaseListeners = new Set<() => void>();
  private readonly subscriptions: Subscriptions;
  /** Fates the coordinator reported: every lsn up to `takenThrough` was taken, `rejections` were refused. */
  private takenThrough = -1;
  /** The last lsn synced to the timeline (everything, without a journal). */
  private durableThrough = -1;
  private readonly coordinatorRejections = new Map<number, string>();
  /** Payloads of the coordinator's rejections, seen before the pending mutations dropped them. */
  private readonly rejectedPayloads = new Map<number, Uint8Array>();
  /** False from `goOffline()` until `goOnline()`. */
  private online = true;
  private readonly rejected = new RejectionList();
  private readonly statusFeed = new StatusFeed(() => this.readStatus());
  private readonly overlayKeeper: OverlayKeeper | undefined;
  /** The local reducer's rejections among the pending mutations (the persisted overlay records them). */
  private readonly localRejections = new Map<number, string>();
  /** True while the persisted overlay is the replica's overlay as it is now. */
  private overlaySaved = false;
  /** Pending mutations the persisted overlay does not hold. */
  private uncached = 0;
  private overlaySaveQueued = false;

  constructor(parts: LocalDocumentParts) {
    this.docId = parts.docId;
    this.timelineId = parts.timelineId;
    this.timelineSecret = parts.timelineSecret;
    this.replica = parts.replica;
    const replica = parts.replica;
    this.subscriptions = new Subscriptions({
      query: (sql, params) => replica.queryValues(sql, params),
      authorizations: (sql) => replica.connection.authorizations(sql),
      readPage: (pgno) => replica.store.read(pgno),
      watchPages: (told) => replica.store.watch(told),
      isOpen: () => !this.closed,
    });
    this.migration = parts.migration;
    this.journal = parts.journal;
    this.onClose = parts.onClose;
    this.recordReach = parts.recordReach;
    this.readAppliedLsn = parts.readAppliedLsn;
    this.readRejections = parts.readRejections;
    this.prepareOverlay = parts.prepareOverlay;
    this.keeper = parts.base?.keeper;
    if (parts.base !== undefined) this.base = { journalId: parts.base.journalId, cursor: parts.base.cursor };
    // The base may already hold some of the recovered mutations (taken by the coordinator before the
    // timeline dropped them): only the ones above its applied marker are still pending.
    const applied = this.readAppliedLsn?.() ?? -1;
    this.takenThrough = applied;
    const pending = (parts.pending ?? []).filter((m) => m.lsn > applied);
    this.pending = [...pending];
    this.durableThrough = pending.at(-1)?.lsn ?? applied;
    const restored = parts.overlay?.restored;
    for (const [lsn, reason] of restored?.rejections ?? []) this.ranLocally(lsn, { ok: false, reason });
    const rerun = pending.filter((m) => m.lsn > (restored?.throughLsn ?? -1));
    for (let i = 0; i < rerun.length; i += REPLAY_BATCH) {
      this.ranAgain(rerun.slice(i, i + REPLAY_BATCH));
    }
    this.replayed = pending.length;
    this.rerun = rerun.length;
    this.overlayKeeper = parts.overlay?.keeper;
    this.overlaySaved = restored !== undefined && rerun.length === 0;
    this.uncached = rerun.length;
    if (this.uncached >= OVERLAY_SAVE_AFTER) this.queueOverlaySave();
    this.nextLsn = Math.max(applied + 1, (parts.pending?.at(-1)?.lsn ?? -1) + 1);
    this.openedAt = this.nextLsn - 1;
  }

  /**
   * Queues one mutation; resolves once it has been applied (or rejected) locally. A mutation the
   * coordinator could not take (mutation-bounds.ts) rejects with `invalid-argument` and writes nothing.
   */
  mutate(mutation: unknown, options: MutateOptions = {}): Promise<MutationResult> {
    return this.mutateBatch([mutation], options).then((results) => results[0]!);
  }

  /**
   * Queues several mutations to be reduced in one call; one result per mutation, in order. When one of
   * them is outside the bounds, none is queued (`invalid-argument`).
   */
  mutateBatch(mutations: readonly unknown[], options: MutateOptions = {}): Promise<MutationResult[]> {
    if (this.closed) return Promise.reject(closedError(this.docId));
    if (this.failure !== undefined) return Promise.reject(this.failure);
    let envelopes: MutationEnvelope[];
    try {
      envelopes = checkedEnvelopes(this.timelineId, this.nextLsn, mutations, options);
    } catch (error) {
      return Promise.reject(error);
    }
    this.nextLsn += envelopes.length;
    return Promise.all(envelopes.map((envelope) => this.enqueue(envelope)));
  }

  /**
   * The rows of `sql` now, once the mutations queued so far are applied: `Row[]` (objects keyed by
   * column name), or with `{ rowMode: 'array' }` every column in order as `{ columns, rows }`;
   * `integers` says how INTEGER values come back (query-rows.ts). The statement must only read.
   */
  query(sql: string, params?: readonly (PlainValue | boolean)[]): Promise<Row[]>;
  query(
    sql: string,
    params: readonly (PlainValue | boolean)[],
    options: ArrayQueryOptions,
  ): Promise<ArrayRows>;
  query(sql: string, params: readonly (PlainValue | boolean)[], options?: QueryOptions): Promise<Row[]>;
  async query(
    sql: string,
    params: readonly (PlainValue | boolean)[] = [],
    options?: QueryOptions,
  ): Promise<Row[] | ArrayRows> {
    this.assertOpen();
    const shape = rowShape(options);
    await this.drained();
    return shapeRows(this.replica.queryValues(sql, params.map(toValue)), shape);
  }

  /** Hex SHA-256 over the database pages: equal hashes mean byte-identical databases. */
  async pageHash(): Promise<string> {
    this.assertOpen();
    await this.drained();
    return this.replica.pageHash();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.settled();
    this.closed = true;
    this.sync?.close();
    this.statusFeed.changed();
    this.stopWaiting(closedError(this.docId));
    await this.housekeeping;
    await this.keeper?.flushed().catch(() => undefined);
    if (this.failure === undefined) await this.persistOverlay();
    // Only a timeline that holds every lsn below it may claim its reach: after a failure, what is on
    // disk is for the next recovery to decide.
    if (this.failure === undefined) await this.recordReach?.(this.durableThrough + 1).catch(() => undefined);
    this.replica.close();
    await this.onClose?.();
  }

  /** Connects the document to a coordinator through `client` (hosts create it); starts syncing. */
  attachSync(client: SyncClient): void {
    if (this.sync !== undefined) throw new TandemError('invalid-argument', 'the document already syncs');
    this.sync = client;
    client.start();
  }

  /**
   * Runs `sql` now and again whenever a table it reads, or the schema, changed (a local mutation, a
   * rebase on the coordinator's frames; reactive/subscriptions.ts); `listener` hears the rows first and
   * then each time they differ. Returns the unsubscribe function. A failing query reaches `onError` (or
   * is dropped) and the subscription stays. The last argument is `onError`, or options: the rows' shape
   * as `query` takes it (`{ rowMode: 'array' }`: the listener hears `{ columns, rows }`) and `onError`.
   */
  subscribe(
    sql: string,
    params: readonly (PlainValue | boolean)[],
    listener: (rows: Row[]) => void,
    onError?: (error: unknown) => void,
  ): () => void;
  subscribe(
    sql: string,
    params: readonly (PlainValue | boolean)[],
    listener: (result: ArrayRows) => void,
    options: SubscribeOptions & { readonly rowMode: 'array' },
  ): () => void;
  subscribe(
    sql: string,
    params: readonly (PlainValue | boolean)[],
    listener: (rows: Row[]) => void,
    options: SubscribeOptions,
  ): () => void;
  subscribe(
    sql: string,
    params: readonly (PlainValue | boolean)[],
    listener: ((rows: Row[]) => void) | ((result: ArrayRows) => void),
    options?: ((error: unknown) => void) | SubscribeOptions,
  ): () => void {
    this.assertOpen();
    const { onError, ...shapeOptions } =
      typeof options === 'function' ? { onError: options } : (options ?? {});
    if (onError !== undefined && typeof onError !== 'function') {
      throw new TandemError('invalid-argument', 'onError must be a function');
    }
    return this.subscriptions.add(
      sql,
      params,
      rowShape(shapeOptions),
      listener as (rows: Row[] | ArrayRows) => void,
      onError,
    );
  }

  /** How many times subscriptions' queries ran, all subscriptions together (tests and benchmarks read it). */
  get subscriptionRuns(): number {
    return this.subscriptions.runs;
  }

  /**
   * Why syncing stopped for good (state `failed`): another reducer, unauthorized, a reset coordinator —
   * a `sync-failed` TandemError whose `cause` is the SyncFailure.
   */
  get syncError(): TandemError | undefined {
    return this.syncFailure;
  }

  /** `offline` for a document that does not sync (`closed` once closed). */
  get syncState(): SyncState {
    if (this.closed) return 'closed';
    return this.sync?.state ?? 'offline';
  }

  /**
   * Closes the connection to the coordinator and keeps it closed until `goOnline()`. Mutations are
   * still accepted and wait, pending; `fate` and `synced` keep waiting. Does nothing if already offline.
   */
  async goOffline(): Promise<void> {
    this.assertOpen();
    this.online = false;
    this.sync?.goOffline();
    this.statusFeed.changed();
  }

  /** Connects again at once after `goOffline()`, and pushes everything pending. */
  async goOnline(): Promise<void> {
    this.assertOpen();
    this.online = true;
    this.sync?.goOnline();
    this.statusFeed.changed();
  }

  /** Where syncing stands: the same object until a field changes (document-status.ts). */
  get status(): SyncStatus {
    return this.statusFeed.status;
  }

  /**
   * `listener` hears the status each time it changed (at most once per microtask turn); read `status`
   * for the one now. Returns the unsubscribe function.
   */
  onStatus(listener: (status: SyncStatus) => void): () => void {
    this.assertOpen();
    return this.statusFeed.listen(listener);
  }

  /** The SyncClient's state, lastDrop or error may have changed. */
  syncChanged(): void {
    this.statusFeed.changed();
  }

  private readStatus(): SyncStatus {
    const error = this.syncFailure ?? this.failure;
    const lastDrop = this.sync?.lastDrop;
    return {
      syncState: this.syncState,
      pendingCount: this.pendingCount,
      online: this.online,
      ...(lastDrop !== undefined && { lastDrop }),
      ...(error !== undefined && {
        syncError: {
          kind: error.kind,
          message: error.message,
          ...(error.fields.reason !== undefined && { reason: error.fields.reason }),
        },
      }),
      rejections: this.rejected.list,
    };
  }

  /** Why the last connection to the coordinator ended while it retries (a visible reason, not a silent loop). */
  get lastSyncDrop(): string | undefined {
    return this.sync?.lastDrop;
  }

  takenLsn(): number {
    return this.takenThrough;
  }

  openedThrough(): number {
    return this.openedAt;
  }

  /** How many mutations the coordinator has not taken yet. */
  get pendingCount(): number {
    return this.pending.length + this.queue.length;
  }

  /**
   * Resolves once the coordinator has taken mutation `lsn`: confirmed, or rejected with its reducer's
   * reason (from its push's answer, or from the rejections the coordinator records in the pages).
   * Rejects when it never will be (invariant 8): `sync-failed`, `closed`, or `invalid-argument` (a
   * document that does not sync, or an lsn no mutation has).
   */
  fate(lsn: number): Promise<MutationFate> {
    if (this.closed) return Promise.reject(closedError(this.docId));
    if (!Number.isSafeInteger(lsn) || lsn < 0 || lsn >= this.nextLsn) {
      return Promise.reject(
        new TandemError('invalid-argument', `no mutation of document ${this.docId} has lsn ${lsn}`),
      );
    }
    if (lsn <= this.takenThrough) {
      const reason = this.coordinatorRejections.get(lsn) ?? this.readRejections?.(lsn, lsn).get(lsn);
      return Promise.resolve(
        reason === undefined ? { lsn, status: 'confirmed' } : { lsn, status: 'rejected', reason },
      );
    }
    const never = this.neverSynced();
    if (never !== undefined) return Promise.reject(never);
    let entry = this.fates.get(lsn);
    if (entry === undefined) {
      let resolve!: (fate: MutationFate) => void;
      let reject!: (error: TandemError) => void;
      const promise = new Promise<MutationFate>((ok, fail) => {
        resolve = ok;
        reject = fail;
      });
      entry = { promise, resolve, reject };
      this.fates.set(lsn, entry);
    }
    return entry.promise;
  }

  /**
   * Resolves once every mutation made so far has been taken by the coordinator and rebased on; rejects
   * once that cannot happen (invariant 8), as `fate` does.
   */
  async synced(): Promise<void> {
    await this.settled();
    for (;;) {
      if (this.closed) throw closedError(this.docId);
      const never = this.neverSynced();
      if (never !== undefined) throw never;
      if (this.pending.length === 0 && this.queue.length === 0) return;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.rebaseListeners.delete(done);
          resolve();
        };
        this.rebaseListeners.add(done);
      });
    }
  }

  /**
   * Resolves once this document holds at least what the coordinator held when it was asked: its frames
   * up to then are in the base and the pending mutations rebased on them (the local mutations need not
   * be taken: that is `synced`). Rejects as `synced` does (invariant 8).
   */
  async caughtUp(): Promise<void> {
    for (;;) {
      this.throwIfNeverSynced();
      let answer: HeadAnswer;
      try {
        answer = await this.sync!.askHead();
      } catch (error) {
        this.throwIfNeverSynced();
        throw error;
      }
      for (;;) {
        this.throwIfNeverSynced();
        const { journalId, cursor } = this.base;
        if (journalId === answer.journalId && cursor >= answer.head) return;
        await this.nextRebase();
        // The coordinator's history was replaced meanwhile: what it held then is gone; ask again.
        if (this.base.journalId !== answer.journalId) break;
      }
    }
  }

  /**
   * This client's rejected mutations, in lsn order: the coordinator's verdicts (those its pages still
   * record: the last 1000 of this timeline, and those heard since the open) and the local reducer's
   * verdicts on mutations still pending. `payload` and `mutation` are there while the document holds
   * the bytes: pending, or rejected by the coordinator since this open (the last 1000).
   */
  async rejections(): Promise<RejectedMutation[]> {
    this.assertOpen();
    await this.drained();
    const found = new Map<number, { reason: string; final: boolean }>();
    const recorded = this.takenThrough >= 0 ? this.readRejections?.(0, this.takenThrough) : undefined;
    for (const [lsn, reason] of recorded ?? []) found.set(lsn, { reason, final: true });
    for (const [lsn, reason] of this.coordinatorRejections) found.set(lsn, { reason, final: true });
    for (const [lsn, reason] of this.localRejections) {
      if (!found.has(lsn)) found.set(lsn, { reason, final: false });
    }
    const pending = new Map(this.pending.map((m) => [m.lsn, m.payload]));
    return [...found]
      .sort(([a], [b]) => a - b)
      .map(([lsn, { reason, final }]) => {
        const payload = pending.get(lsn) ?? this.rejectedPayloads.get(lsn);
        if (payload === undefined) return { lsn, reason, final };
        const mutation = jsonOf(payload);
        return { lsn, reason, final, payload: payload.slice(), ...(mutation !== NOT_JSON && { mutation }) };
      });
  }

  private throwIfNeverSynced(): void {
    if (this.closed) throw closedError(this.docId);
    const never = this.neverSynced();
    if (never !== undefined) throw never;
  }

  /** Resolves after the next rebase, or once waiting stopped (invariant 8). */
  private nextRebase(): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        this.rebaseListeners.delete(done);
        resolve();
      };
      this.rebaseListeners.add(done);
    });
  }

  baseCursor(): { readonly journalId: string | null; readonly cursor: number } {
    return this.base;
  }

  basePage(pgno: number): Uint8Array | undefined {
    return this.replica.store.readBase(pgno);
  }

  /** Pending mutations after `lsn` that are durable in the timeline: only those may be pushed. */
  pendingAfter(lsn: number): readonly MutationEnvelope[] {
    const first = this.pending.findIndex((m) => m.lsn > lsn);
    if (first < 0) return [];
    const end = this.pending.findIndex((m) => m.lsn > this.durableThrough);
    return this.pending.slice(first, end < 0 ? undefined : Math.max(first, end));
  }

  rebase(update: {
    readonly journalId: string;
    readonly snapshot?: PageImage;
    readonly frames: readonly Frame[];
  }): void {
    if (this.closed) return;
    const { snapshot, frames } = update;
    this.replica.discardOverlay();
    let prepared = false;
    try {
      if (snapshot !== undefined) {
        this.replica.resetBase(snapshot);
        this.base = { journalId: update.journalId, cursor: snapshot.frameCount };
      }
      const applied: Frame[] = [];
      try {
        for (const frame of frames) {
          this.replica.applyFrames([frame]);
          applied.push(frame);
          this.base = { journalId: update.journalId, cursor: frame.lsn + 1 };
        }
      } finally {
        // What reached the base is kept, even when a later frame of the burst was refused.
        this.keeper?.record({
          journalId: update.journalId,
          ...(snapshot && {
            replaced: {
              source: { pageCount: snapshot.pageCount, pages: () => snapshot.pages },
              frameCount: snapshot.frameCount,
            },
          }),
          frames: applied,
          base: this.replica.store.base(),
          cursor: this.base.cursor,
        });
      }
      this.prepareOverlay?.();
      prepared = true;
      this.settleTaken();
    } finally {
      // The overlay is rebuilt (schema, then the pending mutations) whatever happened above: a rebase
      // that fails part-way must not leave the document without its unconfirmed writes.
      if (!prepared) this.prepareOverlay?.();
      for (let i = 0; i < this.pending.length; i += REPLAY_BATCH) {
        this.ranAgain(this.pending.slice(i, i + REPLAY_BATCH));
      }
      this.overlayChanged(this.pending.length, true);
      this.statusFeed.changed();
      for (const listener of [...this.rebaseListeners]) listener();
      this.changed();
    }
  }

  /** Settles what the base's applied marker says the coordinator took, and lets the timeline drop it. */
  private settleTaken(): void {
    const applied = this.readAppliedLsn?.() ?? -1;
    if (applied > this.takenThrough) {
      const reasons = this.readRejections?.(this.takenThrough + 1, applied) ?? new Map<number, string>();
      this.taken(
        applied,
        [...reasons].map(([lsn, reason]) => ({ lsn, reason })),
      );
    }
    const taken = this.pending.findIndex((m) => m.lsn > applied);
    this.pending = taken < 0 ? [] : this.pending.slice(taken);
    for (const lsn of this.localRejections.keys()) if (lsn <= applied) this.localRejections.delete(lsn);
    const journal = this.journal;
    if (journal !== undefined && applied >= 0) {
      // Taken mutations live in the coordinator's frames now: the timeline no longer needs them, and a
      // reopen should not read them (even after an unclean exit, which writes no reach at close).
      const recordReach = this.recordReach;
      this.housekeeping = this.housekeeping
        // Only once the base holding the marker is durable: a crash must never leave a base whose
        // marker is older than the timeline's cut, or the next lsns would repeat taken ones.
        .then(() => this.keeper?.flushed())
        // Emptied only with the base in place and a reach record saying how far the timeline went.
        .then(() => journal.truncateTimeline(applied + 1, this.keeper && recordReach))
        .catch((error: unknown) => {
          this.fail(error);
        });
    }
  }

  pushed(appliedLsn: number, rejected: readonly { readonly lsn: number; readonly reason: string }[]): void {
    this.taken(appliedLsn, rejected);
  }

  /** Applies pending mutations again (opening, rebasing): the local verdicts may have changed. */
  private ranAgain(batch: readonly MutationEnvelope[]): void {
    const outcomes = this.replica.applyBatch(batch);
    for (const [i, envelope] of batch.entries()) this.ranLocally(envelope.lsn, outcomes[i]);
  }

  /** The local reducer's verdict on a pending mutation. */
  private ranLocally(lsn: number, outcome: Outcome | undefined): void {
    this.rejected.ran(lsn, outcome);
    if (outcome?.ok === false) this.localRejections.set(lsn, outcome.reason);
    else this.localRejections.delete(lsn);
  }

  /** `count` more pending mutations are not in the persisted overlay (none of them is, when `stale`). */
  private overlayChanged(count: number, stale = false): void {
    if (this.overlayKeeper === undefined) return;
    this.overlaySaved = false;
    this.uncached = stale ? this.pending.length : this.uncached + count;
    if (this.uncached >= Math.max(OVERLAY_SAVE_AFTER, this.pending.length / 2)) this.queueOverlaySave();
  }

  private queueOverlaySave(): void {
    if (this.overlaySaveQueued) return;
    this.overlaySaveQueued = true;
    this.housekeeping = this.housekeeping.then(async () => {
      this.overlaySaveQueued = false;
      await this.syncing;
      // A closing document saves its overlay itself, once settled.
      if (!this.closed) await this.saveOverlay();
    });
  }

  /** At close: the persisted overlay becomes the replica's, or goes when there is none. */
  private async persistOverlay(): Promise<void> {
    if (this.overlayKeeper === undefined || this.overlaySaved) return;
    if (this.pending.length > 0 || this.replica.store.hasOverlay) await this.saveOverlay();
    else await this.overlayKeeper.clear().catch(() => undefined);
  }

  /**
   * Saves the overlay as it is now (invariant 10): between two calls, so no transaction is open, and
   * only once every pending mutation is durable (a write lost in a crash would make it a miss).
   */
  private async saveOverlay(): Promise<void> {
    const keeper = this.overlayKeeper;
    if (keeper === undefined || this.failure !== undefined) return;
    if ((this.pending.at(-1)?.lsn ?? -1) > this.durableThrough) return;
    try {
      const saved = keeper.save({
        store: this.replica.store,
        base: this.base,
        appliedLsn: this.readAppliedLsn?.() ?? -1,
        pending: this.pending,
        rejections: this.localRejections,
      });
      // Taken: what changes from now on is not in it.
      this.uncached = 0;
      this.overlaySaved = true;
      await saved;
    } catch {
      // Only a cache: the next open replays what it would have held.
      this.overlaySaved = false;
      this.uncached = this.pending.length;
    }
  }

  /** The coordinator took this timeline up to `appliedLsn`, rejecting `rejected`: settle those fates. */
  private taken(
    appliedLsn: number,
    rejected: readonly { readonly lsn: number; readonly reason: string }[],
  ): void {
    for (const { lsn, reason } of rejected) {
      this.coordinatorRejections.set(lsn, reason);
      const payload = this.pending.find((m) => m.lsn === lsn)?.payload;
      if (payload === undefined) continue;
      this.rejectedPayloads.set(lsn, payload);
      if (this.rejectedPayloads.size > REJECTED_PAYLOADS_KEPT) {
        this.rejectedPayloads.delete(this.rejectedPayloads.keys().next().value!);
      }
    }
    this.takenThrough = Math.max(this.takenThrough, appliedLsn);
    this.rejected.taken(
      appliedLsn,
      rejected,
      (lsn) => this.coordinatorRejections.get(lsn) ?? this.readRejections?.(lsn, lsn).get(lsn),
    );
    this.statusFeed.changed();
    for (const [lsn, entry] of this.fates) {
      if (lsn > appliedLsn) continue;
      this.fates.delete(lsn);
      this.fate(lsn).then(entry.resolve, entry.reject);
    }
  }

  /** The SyncClient stopped for good: what waits on the coordinator stops waiting (invariant 8). */
  syncFailed(failure: SyncFailure): void {
    this.syncFailure ??= new TandemError(
      'sync-failed',
      `document ${this.docId} stopped syncing: ${failure.message}`,
      { reason: failure.reason },
      { cause: failure },
    );
    this.statusFeed.changed();
    this.stopWaiting(this.syncFailure);
  }

  /** Why what waits on the coordinator would wait forever, if it would. */
  private neverSynced(): TandemError | undefined {
    if (this.syncFailure !== undefined) return this.syncFailure;
    // A failed timeline pushes nothing more: what is not taken yet never will be from this open.
    if (this.failure !== undefined) return this.failure;
    if (this.sync === undefined) {
      return new TandemError('invalid-argument', `document ${this.docId} does not sync with a coordinator`);
    }
    return undefined;
  }

  /** Rejects every pending `fate` with `error` and wakes `synced`, which then rejects too. */
  private stopWaiting(error: TandemError): void {
    for (const [lsn, entry] of this.fates) {
      this.fates.delete(lsn);
      entry.reject(error);
    }
    for (const listener of [...this.rebaseListeners]) listener();
  }

  private enqueue(envelope: MutationEnvelope): Promise<MutationResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ envelope, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        queueMicrotask(() => {
          this.flush();
          // Subscribers hear the rows before the status that follows this turn (a tab hears both).
          this.subscriptions.settle();
        });
      }
      // After the flush: its local verdicts go out with the new pending count.
      this.statusFeed.changed();
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const journal = this.journal;
    let results: MutationResult[];
    try {
      if (this.failure !== undefined) throw this.failure;
      if (journal !== undefined) {
        try {
          for (const p of batch) journal.appendMutation(p.envelope);
        } catch (error) {
          throw this.fail(error);
        }
      }
      const envelopes = batch.map((p) => p.envelope);
      const outcomes = this.replica.applyBatch(envelopes);
      this.changed();
      this.pending.push(...envelopes);
      this.overlayChanged(envelopes.length);
      results = batch.map((p, i) => {
        const outcome = outcomes[i];
        const lsn = p.envelope.lsn;
        this.ranLocally(lsn, outcome);
        if (outcome?.ok) return { lsn, status: 'applied' };
        return { lsn, status: 'rejected', reason: outcome?.reason ?? 'no outcome' };
      });
      this.statusFeed.changed();
    } catch (error) {
      for (const p of batch) p.reject(error);
      this.statusFeed.changed();
      return;
    }
    const resolveAll = (): void => {
      this.durableThrough = Math.max(this.durableThrough, batch.at(-1)!.envelope.lsn);
      for (const [i, p] of batch.entries()) p.resolve(results[i]!);
      this.sync?.pendingChanged();
    };
    if (journal === undefined) {
      resolveAll();
      return;
    }
    const synced = journal.sync().then(resolveAll, (error: unknown) => {
      const failure = this.fail(error);
      for (const p of batch) p.reject(failure);
    });
    this.syncing = Promise.all([this.syncing, synced]).then(() => undefined);
  }

  /** Re-runs the subscriptions whose tables changed, once the current burst of changes is over. */
  private changed(): void {
    this.subscriptions.changed();
  }

  private fail(error: unknown): TandemError {
    if (this.failure === undefined) {
      this.failure = new TandemError(
        'storage-failed',
        `document ${this.docId} could not write its timeline; reopen it to recover`,
        {},
        { cause: error },
      );
      this.statusFeed.changed();
      this.stopWaiting(this.failure);
    }
    return this.failure;
  }

  /** Waits until every mutation queued so far has been applied. */
  private async drained(): Promise<void> {
    while (this.queue.length > 0 || this.flushScheduled) await Promise.resolve();
  }

  /** Waits until every mutation queued so far has been applied and, with a journal, synced. */
  private async settled(): Promise<void> {
    await this.drained();
    await this.syncing;
  }

  private assertOpen(): void {
    if (this.closed) throw closedError(this.docId);
  }
}

/**
 * The envelopes of `mutations` from lsn `firstLsn` on, each inside the bounds the coordinator enforces
 * (mutation-bounds.ts); a TandemError `invalid-argument` for the first that is not.
 */
function checkedEnvelopes(
  timelineId: string,
  firstLsn: number,
  mutations: readonly unknown[],
  options: MutateOptions,
): MutationEnvelope[] {
  if (!Array.isArray(mutations)) {
    throw new TandemError('invalid-argument', 'mutateBatch takes an array of mutations');
  }
  if (typeof options !== 'object' || options === null) {
    throw new TandemError('invalid-argument', 'mutate options must be an object');
  }
  const timestamp = options.timestamp ?? Date.now();
  // The payloads are written one after another into a scratch buffer, then copied into one buffer for
  // the batch, each a view of it: one allocation per batch instead of one (TextEncoder.encode's, made
  // in C++: ~1 µs) per mutation. A batch's payloads live about as long as each other (pending together).
  // A mutate called from a mutation's toJSON (while this one is writing) gets a scratch of its own.
  const writer = idleWriter ?? new PayloadWriter();
  idleWriter = undefined;
  try {
    const ends: number[] = [];
    for (let i = 0; i < mutations.length; i++) {
      const start = writer.used;
      writer.write(mutations[i]);
      ends.push(writer.used);
      const payload = writer.bytes.subarray(start, writer.used);
      const problem = mutationProblem({ lsn: firstLsn + i, timestamp, payload });
      if (problem !== undefined) {
        throw new TandemError('invalid-argument', `mutation ${i} cannot be synced: ${problem}`, {
          reason: problem,
        });
      }
    }
    const bytes = writer.bytes.slice(0, writer.used);
    let start = 0;
    return ends.map((end, i) => {
      const envelope = { timelineId, lsn: firstLsn + i, timestamp, payload: bytes.subarray(start, end) };
      start = end;
      return envelope;
    });
  } finally {
    writer.reset();
    idleWriter = writer;
  }
}

/** Mutations' payloads written one after another: their bytes (copies), or their JSON as UTF-8. */
class PayloadWriter {
  static readonly MIN_BYTES = 64 * 1024;
  /** A buffer grown past this for a large batch is let go once the batch is copied out. */
  static readonly MAX_KEPT_BYTES = 4 * 1024 * 1024;
  bytes = new Uint8Array(PayloadWriter.MIN_BYTES);
  used = 0;

  write(mutation: unknown): void {
    if (mutation instanceof Uint8Array) {
      this.#reserve(mutation.length);
      this.bytes.set(mutation, this.used);
      this.used += mutation.length;
      return;
    }
    const json = stringifyMutation(mutation);
    // UTF-16 to UTF-8 takes at most 3 bytes per unit.
    this.#reserve(3 * json.length);
    this.used += payloadEncoder.encodeInto(json, this.bytes.subarray(this.used)).written;
  }

  reset(): void {
    this.used = 0;
    if (this.bytes.length > PayloadWriter.MAX_KEPT_BYTES)
      this.bytes = new Uint8Array(PayloadWriter.MIN_BYTES);
  }

  #reserve(more: number): void {
    if (this.used + more <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.used + more, 2 * this.bytes.length));
    grown.set(this.bytes.subarray(0, this.used));
    this.bytes = grown;
  }
}

let idleWriter: PayloadWriter | undefined = new PayloadWriter();

/** A mutation's JSON, or a TandemError `invalid-argument`. */
function stringifyMutation(mutation: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(mutation);
  } catch (error) {
    throw new TandemError(
      'invalid-argument',
      `a mutation must be JSON-serializable: ${String(error)}`,
      {},
      {
        cause: error,
      },
    );
  }
  if (json === undefined) {
    throw new TandemError('invalid-argument', 'a mutation must be JSON-serializable or a Uint8Array');
  }
  return json;
}

const payloadEncoder = new TextEncoder();

const NOT_JSON = Symbol('not JSON');
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** `payload` as the JSON value it encodes, or NOT_JSON (a mutation given as bytes). */
function jsonOf(payload: Uint8Array): unknown {
  try {
    return JSON.parse(strictUtf8.decode(payload));
  } catch {
    return NOT_JSON;
  }
}

function closedError(docId: string): TandemError {
  return new TandemError('closed', `document ${docId} is closed`);
}
