// A local document: a replica of one database, its reducer and this client's timeline. Hosts
// (host-node, host-browser) open the replica and migrate it; this class owns what happens next.
//
// Invariants:
// 1. Mutations get consecutive lsns (0, 1, 2, …) in the order `mutate`/`mutateBatch` were called,
//    and are reduced in that order.
// 2. Calls made without awaiting each other are reduced together (mutation-queue.ts).
// 3. After `close`, every call rejects with a `closed` error; queued mutations are still applied
//    before the replica closes.
// 4. With a journal, a resolved mutation survives any crash (mutation-queue.ts), and opening shows
//    again the pending mutations the journal recovered.
// 5. After the journal fails, nothing more is accepted (`storage-failed`, mutation-queue.ts).
// 6. Synced (a SyncClient attached, or expected: sync-attachment.ts): the replica's base is the coordinator's pages up to `baseCursor`,
//    its overlay is exactly the pending mutations (lsn above this timeline's applied marker in the base)
//    reduced in lsn order. A rebase keeps it so: drop the overlay, apply the burst to the base, drop the
//    mutations the marker covers, reduce the rest again.
// 7. A mutation outside the bounds the coordinator enforces (protocol/mutation-bounds.ts) is refused by
//    `mutate` with `invalid-argument` before it takes an lsn or reaches the timeline: a bad argument
//    never fails storage, and nothing accepted here is refused by the coordinator as malformed.
// 8. Nothing waits forever: `fate`, `synced` and `caughtUp` settle once the coordinator took (or sent)
//    what they wait for, or reject (`sync-failed`, `closed`, ...: coordinator-waits.ts invariant 2).
//    Taken offline by the app (`goOffline`), they keep waiting: offline is not failure.
// 9. `status` (document-status.ts) is read from the document's state, never kept apart; whatever may
//    change it (a mutation queued or dropped, a rebase, a push's answer, the SyncClient, a failure,
//    `goOffline`/`goOnline`, `close`) tells the feed, which coalesces it into one event per turn.
// 10. The persisted overlay is only a cache of invariant 6's overlay (pending-overlay.ts): nothing
//    leaves the timeline because of it.
// 11. An upgrade to the coordinator's newer reducer (`upgradeReducer`, or a `rebase` given the reducer
//    with the burst that caught the base up; sync-client.ts S8) keeps invariant 6 under the new
//    reducer, all or nothing (reducer-move.ts invariants 2, 3): anything thrown on the way puts back
//    the base, the old reducer and its overlay, and is rethrown as it was; `onUpgrade` listeners hear
//    the move (once) only after all of it held. None of the pending mutations is dropped: a reducer
//    accepts its own older mutations.
// 12. A rebase that leaves mutations pending while no subscription watches the document only marks
//    the overlay stale; whatever reads or writes the overlay calls `ensure` first (lazy-overlay.ts), so
//    invariant 6 holds for every reader, and a client awaiting confirmations while others' frames
//    arrive pays no replay per frame. With subscriptions the rebase reduces at once. While the overlay
//    is stale the local reducer's verdicts are withdrawn: `status` never shows a verdict of a base the
//    document left, and reading it replays nothing.

import { CoordinatorWaits, closedError, type MutationFate } from './coordinator-waits.js';
import { type BaseCursor, type Burst, DocumentBase } from './document-base.js';
import type { LocalDocumentParts, MigrationReport } from './document-parts.js';
import { DocumentRebase } from './document-rebase.js';
import { StatusFeed, type SyncStatus, statusOf } from './document-status.js';
import { TandemError } from './errors.js';
import { LazyOverlay } from './lazy-overlay.js';
import { checkedEnvelopes, type MutateOptions } from './mutation-envelopes.js';
import { MutationQueue, type MutationResult } from './mutation-queue.js';
import { type OverlayPlace, PendingOverlay } from './pending-overlay.js';
import {
  type ArrayQueryOptions,
  type ArrayRows,
  type QueryOptions,
  type Row,
  rowShape,
  type SubscribeOptions,
  shapeRows,
} from './query-rows.js';
import { Subscriptions } from './reactive/subscriptions.js';
import type { MutationEnvelope, Outcome, ReducerModule } from './reducer/host.js';
import { ReducerMove } from './reducer-move.js';
import type { ReducerUpgrade } from './reducer-upgrades.js';
import { type RejectedMutation, RejectedMutations } from './rejected-mutations.js';
import type { Replica } from './replica.js';
import type { ReducerIdentity } from './sync/negotiation.js';
import type { SyncClient, SyncFailure, SyncState, SyncTarget } from './sync/sync-client.js';
import { SyncAttachment } from './sync-attachment.js';
import { TakenMutations, type TakenRejection } from './taken-mutations.js';
import { TimelineHousekeeping } from './timeline-housekeeping.js';
import { type PlainValue, toValue } from './value.js';

export type { MutationFate } from './coordinator-waits.js';
export type { LocalDocumentParts, MigrationReport } from './document-parts.js';
export type { MutateOptions } from './mutation-envelopes.js';
export type { MutationResult } from './mutation-queue.js';
export type {
  ArrayQueryOptions,
  ArrayRows,
  IntegerMode,
  QueryOptions,
  Row,
  SubscribeOptions,
} from './query-rows.js';
export type { ReducerUpgrade } from './reducer-upgrades.js';
export type { RejectedMutation } from './rejected-mutations.js';
export type { ReducerIdentity } from './sync/negotiation.js';

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
  private readonly onClose: (() => Promise<void>) | undefined;
  private nextLsn = 0;
  /** The last lsn the document held when it opened (its recovered timeline, or its base's marker). */
  private readonly openedAt: number;
  private readonly queue: MutationQueue;
  private closed = false;
  /** Reduced locally, not yet taken by the coordinator, and the overlay of them (pending-overlay.ts). */
  private readonly pending: PendingOverlay;
  /** The coordinator's pages this document holds, and its applied marker in them (document-base.ts). */
  private readonly base: DocumentBase;
  /** The SyncClient, attached now or on its way (sync-attachment.ts). */
  private readonly sync: SyncAttachment;
  /** Background storage work (overlay saves, timeline cuts), in order (timeline-housekeeping.ts). */
  private readonly housekeeping: TimelineHousekeeping;
  /** What waits on the coordinator: `fate`, `synced`, `caughtUp` (invariant 8; coordinator-waits.ts). */
  private readonly waits: CoordinatorWaits;
  private readonly subscriptions: Subscriptions;
  /** What the coordinator took of this timeline (taken-mutations.ts). */
  private readonly taken: TakenMutations;
  /** False from `goOffline()` until `goOnline()`. */
  private online = true;
  private readonly rejected: RejectedMutations;
  private readonly statusFeed = new StatusFeed(() => this.readStatus());
  /** The overlay a rebase may leave stale (invariant 12; lazy-overlay.ts) and its background saves. */
  private readonly overlay: LazyOverlay;
  /** Moves to the coordinator's newer reducer (invariant 11; reducer-move.ts). */
  private readonly upgrades: ReducerMove;
  /** The coordinator's frames taken into the base, or moving the document (invariant 6; document-rebase.ts). */
  private readonly frames: DocumentRebase;

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
    this.sync = new SyncAttachment({
      docId: parts.docId,
      online: () => this.online,
      failed: (failure) => this.syncFailed(failure),
    });
    this.waits = new CoordinatorWaits({
      docId: parts.docId,
      closed: () => this.closed,
      nextLsn: () => this.nextLsn,
      takenThrough: () => this.taken.through,
      reasonOf: (lsn) => this.rejected.reasonOf(lsn),
      timelineFailure: () => this.queue.failure,
      settled: () => this.queue.settled(),
      nothingPending: () => this.pending.count === 0 && this.queue.length === 0,
      sync: () => (this.sync.syncs ? this.sync : undefined),
      base: () => this.base.cursor,
      syncStopped: () => this.statusFeed.changed(),
    });
    this.queue = new MutationQueue(parts.docId, parts.journal, {
      reduce: (envelopes) => this.reduceQueued(envelopes),
      durable: (lsn) => this.pending.durable(lsn),
      resolved: () => this.sync.pendingChanged(),
      statusChanged: () => this.statusFeed.changed(),
      flushed: () => this.subscriptions.settle(),
      failed: (failure) => this.waits.stop(failure),
    });
    this.onClose = parts.onClose;
    this.rejected = new RejectedMutations(parts.readRejections);
    this.pending = new PendingOverlay(replica, parts.overlay?.keeper, this.rejected);
    this.housekeeping = new TimelineHousekeeping({
      journal: parts.journal,
      keeper: parts.base?.keeper,
      recordReach: parts.recordReach,
      fail: (error) => this.queue.fail(error),
    });
    this.overlay = new LazyOverlay({
      pending: this.pending,
      rejected: this.rejected,
      prepare: parts.prepareOverlay,
      changed: () => {
        this.statusFeed.changed();
        this.subscriptions.changed();
      },
      statusChanged: () => this.statusFeed.changed(),
      housekeep: (work) => this.housekeeping.queue(work),
      savable: async () => {
        await this.queue.synced();
        // A closing document saves its overlay itself, once settled.
        return !this.closed && this.queue.failure === undefined;
      },
      place: () => this.overlayPlace(),
    });
    this.upgrades = new ReducerMove({
      replica,
      overlay: this.overlay,
      prepare: parts.prepareOverlay,
      readAppliedLsn: parts.readAppliedLsn,
      reducerChanged: parts.reducerChanged,
      markSchema: parts.markSchema,
      holdSchema: parts.holdSchema,
      unmarkSchema: parts.unmarkSchema,
      identity: () => this.reducer,
      queue: this.queue,
    });
    const { journalId, cursor } = parts.base ?? { journalId: null, cursor: 0 };
    this.base = new DocumentBase(replica, parts.base?.keeper, { journalId, cursor }, parts.readAppliedLsn);
    // The base may already hold some of the recovered mutations (taken by the coordinator before the
    // timeline dropped them): only the ones above its applied marker are still pending.
    const applied = this.base.marker(false);
    this.taken = new TakenMutations(
      {
        base: this.base,
        pending: this.pending,
        rejected: this.rejected,
        housekeeping: this.housekeeping,
        waits: this.waits,
        changed: () => this.statusFeed.changed(),
      },
      applied,
    );
    const pending = parts.pending?.above(applied);
    this.frames = new DocumentRebase({
      replica,
      base: this.base,
      prepareOverlay: parts.prepareOverlay,
      taken: this.taken,
      pending: this.pending,
      overlay: this.overlay,
      upgrades: this.upgrades,
      watched: () => this.subscriptions.active,
      rebased: () => this.rebased(),
    });
    const opened = this.pending.open(pending, applied, parts.overlay?.restored);
    this.replayed = pending?.length ?? 0;
    this.rerun = opened.rerun;
    if (opened.saveDue) this.overlay.queueSave();
    this.nextLsn = Math.max(applied + 1, (parts.pending?.lastLsn ?? -1) + 1);
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
    if (this.queue.failure !== undefined) return Promise.reject(this.queue.failure);
    let envelopes: MutationEnvelope[];
    try {
      envelopes = checkedEnvelopes(this.timelineId, this.nextLsn, mutations, options);
    } catch (error) {
      return Promise.reject(error);
    }
    this.nextLsn += envelopes.length;
    return Promise.all(envelopes.map((envelope) => this.queue.enqueue(envelope)));
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
    await this.queue.drained();
    this.overlay.ensure();
    return shapeRows(this.replica.queryValues(sql, params.map(toValue)), shape);
  }

  /** Hex SHA-256 over the database pages: equal hashes mean byte-identical databases. */
  async pageHash(): Promise<string> {
    this.assertOpen();
    await this.queue.drained();
    this.overlay.ensure();
    return this.replica.pageHash();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.queue.settled();
    this.closed = true;
    this.sync.close();
    this.statusFeed.changed();
    this.waits.stop(closedError(this.docId));
    await this.housekeeping.close();
    if (this.queue.failure === undefined && this.overlay.ready()) {
      await this.pending.persist(this.overlayPlace());
    }
    // Only a timeline that holds every lsn below it may claim its reach: after a failure, what is on
    // disk is for the next recovery to decide.
    if (this.queue.failure === undefined) {
      await this.housekeeping.recordReach(this.pending.durableThrough + 1);
    }
    await this.upgrades.abandon();
    this.replica.close();
    await this.onClose?.();
  }

  /** The reducer this document runs: the host's, or the coordinator's newer one after an upgrade. */
  get reducer(): ReducerIdentity {
    return { hash: this.replica.reducerModule.sha256, schemaVersion: this.replica.reducerVersion };
  }

  reducerIdentity(): ReducerIdentity {
    return this.reducer;
  }

  /**
   * `listener` hears each move to the coordinator's newer reducer (invariant 11), with the reducer before
   * and after. Returns the unsubscribe function.
   */
  onUpgrade(listener: (upgrade: ReducerUpgrade) => void): () => void {
    this.assertOpen();
    return this.upgrades.listen(listener);
  }

  /**
   * Runs `module` from now on (invariant 11): the overlay migrated to its schema, the pending mutations
   * reduced again under it. Rejects (`migration-failed`, `storage-failed` when the new schema version
   * could not be recorded, or what the replica threw) with the old reducer and its overlay back in place.
   */
  async upgradeReducer(module: ReducerModule): Promise<void> {
    this.assertOpen();
    // Recorded first: once swapped, the document takes mutations under the new version, and a reopen
    // with the older reducer must be refused (storage/schema-mark.ts). A move that then fails puts the
    // mark back (reducer-move.ts invariant 2), before this rejects.
    await this.upgrades.mark(module);
    this.assertOpen();
    try {
      this.upgrades.move(module, { moved: (applied) => this.frames.moved(applied) });
    } catch (error) {
      await this.upgrades.marking;
      throw error;
    }
  }

  /**
   * Records durably, before a rebase moves the document to `module` (sync-client.ts S8), the schema
   * version it will run, as `upgradeReducer` does before its swap (storage/schema-mark.ts). Rejects
   * with `storage-failed` when it cannot be recorded; nothing is swapped here.
   */
  async readyUpgrade(module: ReducerModule): Promise<void> {
    this.assertOpen();
    await this.upgrades.mark(module);
  }

  /** Connects the document to a coordinator through `client` (hosts create it); starts syncing. */
  attachSync(client: SyncClient): void {
    this.sync.attach(client);
  }

  /**
   * The document syncs from now on, through the client the host attaches (`attachSync`) by the time
   * `attaching` resolves: a host may load the sync code after the document's first answer. Until then
   * it reads as a client just started (`connecting`); mutations wait pending, `fate`, `synced` and
   * `caughtUp` wait. If `attaching` rejects (or brings no client), syncing stops for good
   * (`sync-failed`, reason `client-unavailable`).
   */
  expectSync(attaching: Promise<void>): void {
    this.sync.expect(attaching);
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
    // The first run reads the overlay in a microtask, and from now on rebases reduce at once.
    this.overlay.ensure();
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
    return this.waits.syncFailure;
  }

  /** `offline` for a document that does not sync (`closed` once closed). */
  get syncState(): SyncState {
    if (this.closed) return 'closed';
    return this.sync.state;
  }

  /**
   * Closes the connection to the coordinator and keeps it closed until `goOnline()`. Mutations are
   * still accepted and wait, pending; `fate` and `synced` keep waiting. Does nothing if already offline.
   */
  async goOffline(): Promise<void> {
    this.assertOpen();
    this.online = false;
    this.sync.goOffline();
    this.statusFeed.changed();
  }

  /** Connects again at once after `goOffline()`, and pushes everything pending. */
  async goOnline(): Promise<void> {
    this.assertOpen();
    this.online = true;
    this.sync.goOnline();
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
    return statusOf({
      syncState: this.syncState,
      pendingCount: this.pendingCount,
      online: this.online,
      reducer: this.reducer,
      upgraded: this.upgrades.last,
      sync: this.sync,
      error: this.waits.syncFailure ?? this.queue.failure,
      rejections: this.rejected.status,
    });
  }

  /** Why the last connection to the coordinator ended while it retries (a visible reason, not a silent loop). */
  get lastSyncDrop(): string | undefined {
    return this.sync.lastDrop;
  }

  takenLsn(): number {
    return this.taken.through;
  }

  openedThrough(): number {
    return this.openedAt;
  }

  /** How many mutations the coordinator has not taken yet. */
  get pendingCount(): number {
    return this.pending.count + this.queue.length;
  }

  /**
   * Resolves once the coordinator has taken mutation `lsn`: confirmed, or rejected with its reducer's
   * reason (from its push's answer, or from the rejections the coordinator records in the pages).
   * Rejects when it never will be (invariant 8): `sync-failed`, `closed`, or `invalid-argument` (a
   * document that does not sync, or an lsn no mutation has).
   */
  fate(lsn: number): Promise<MutationFate> {
    return this.waits.fate(lsn);
  }

  /**
   * Resolves once every mutation made so far has been taken by the coordinator and rebased on; rejects
   * once that cannot happen (invariant 8), as `fate` does.
   */
  synced(): Promise<void> {
    return this.waits.synced();
  }

  /**
   * Resolves once this document holds at least what the coordinator held when it was asked: its frames
   * up to then are in the base and the pending mutations rebased on them (the local mutations need not
   * be taken: that is `synced`). Rejects as `synced` does (invariant 8).
   */
  caughtUp(): Promise<void> {
    return this.waits.caughtUp();
  }

  /**
   * This client's rejected mutations, in lsn order: the coordinator's verdicts (those its pages still
   * record: the last 1000 of this timeline, and those heard since the open) and the local reducer's
   * verdicts on mutations still pending. `payload` and `mutation` are there while the document holds
   * the bytes: pending, or rejected by the coordinator since this open (the last 1000).
   */
  async rejections(): Promise<RejectedMutation[]> {
    this.assertOpen();
    await this.queue.drained();
    // The local reducer's verdicts come from its last run of each pending mutation.
    this.overlay.ensure();
    return this.rejected.list(this.taken.through, this.pending.payloads());
  }

  baseCursor(): BaseCursor {
    return this.base.cursor;
  }

  basePage(pgno: number): Uint8Array | undefined {
    return this.replica.store.readBase(pgno);
  }

  /** Pending mutations after `lsn` that are durable in the timeline: only those may be pushed. */
  pendingAfter(lsn: number): readonly MutationEnvelope[] {
    return this.pending.after(lsn);
  }

  rebase(update: Burst): void {
    if (!this.closed) this.frames.rebase(update);
  }

  /** The base or the overlay changed: the status, the waits on a rebase and the subscriptions hear it. */
  private rebased(): void {
    this.statusFeed.changed();
    this.waits.rebased();
    this.subscriptions.changed();
  }

  pushed(appliedLsn: number, rejected: readonly TakenRejection[]): void {
    this.taken.pushed(appliedLsn, rejected);
  }

  /** Where the document stands, for a save of its overlay. */
  private overlayPlace(): OverlayPlace {
    return { base: this.base.cursor, appliedLsn: this.base.readMarker() };
  }

  /** The SyncClient stopped for good: what waits on the coordinator stops waiting (invariant 8). */
  syncFailed(failure: SyncFailure): void {
    this.waits.syncFailed(failure);
  }

  /** Reduces a batch the mutation queue took (mutation-queue.ts). */
  private reduceQueued(envelopes: readonly MutationEnvelope[]): readonly (Outcome | undefined)[] {
    // New mutations are reduced over the pending ones (invariant 1).
    this.overlay.ensure();
    const outcomes = this.replica.applyBatch(envelopes);
    this.subscriptions.changed();
    if (this.pending.added(envelopes)) this.overlay.queueSave();
    for (const [i, envelope] of envelopes.entries()) this.rejected.ran(envelope.lsn, outcomes[i]);
    return outcomes;
  }

  private assertOpen(): void {
    if (this.closed) throw closedError(this.docId);
  }
}
