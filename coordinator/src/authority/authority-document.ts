// The authoritative copy of a document (what the coordinator runs): pushes from clients' timelines are
// checked for continuity, reduced together in one transaction with their applied markers, and the
// resulting frame is durable before anyone hears about it.
//
// Invariants:
// 1. A push continues its timeline: mutations at or below the timeline's marker are duplicates and
//    skipped; a push that starts past marker + 1 is refused (`gap`) and changes nothing.
// 2. Every mutation taken advances its timeline's marker, applied or rejected: a mutation that can never
//    apply never blocks the ones behind it.
// 3. `push` resolves only after the frame of its transaction is synced to the journal (when there is one),
//    and after every push called before it resolved: reports come out in call order. A push whose frame,
//    or any earlier frame, failed to sync rejects.
// 4. Pushes are applied one after another; the pushes of one call share one transaction and so one
//    frame. A push is applied while the frames before it are still being synced (a pipeline: the next
//    group's reduce overlaps the last group's fsync), but nothing of it is visible outside before its
//    own frame is durable: `appliedMarkers`, `nextFrameLsn`, `framesSince` and snapshots describe
//    durable frames only (the markers a push is checked against are the applied ones).
// 5. After the journal fails, the document refuses everything (`storage-failed`) until reopened.
// 6. `journalId` names this history: recorded in the journal when it is created, the same for every
//    reopen of it; a client whose pages come from another journalId must start from a snapshot.
// 7. The frames kept in memory are exactly the durable frames since the last checkpoint (every
//    `checkpointEvery` frames; in memory too, where nothing is written), gap-free and in lsn order: a
//    client whose cursor lies inside that window catches up with frames alone, any other takes a snapshot.
// 8. A snapshot, and a checkpoint, are taken between pushes with none being synced, so their pages are
//    the base after exactly `frameCount` durable frames, never the pages of a transaction whose frame is
//    not yet synced.
// 9. Each durable frame has its wire form (protocol/page-delta.ts), computed once: every page as a
//    delta against its version in the base before the frame. A committed frame's previous pages are
//    read in the commit callback, before the fold replaces them; frames recovered from the journal get
//    theirs by replaying them over the checkpoint image.
// 10. A timeline bound to a secret (runtime applied-marker.ts invariant 4) takes pushes only under that secret's
//    hash; any other push on it is refused (`timeline-taken`) and changes nothing. A push with a hash
//    binds an unbound timeline in the transaction of the first mutations it takes on it.

import { ensureSchema, refuseOlderReducer } from '@tandem/migrations';
import {
  type ByteStore,
  concatBytes,
  encodePageImage,
  type Frame,
  type MigrationReport,
  type MutationEnvelope,
  type Outcome,
  PAGE_SIZE,
  PageStore,
  pushProblem,
  type ReducerModule,
  Replica,
  readAppliedMarkers,
  readTimelineBindings,
  rebuildStore,
  TandemError,
  type WireFrame,
  writeAppliedMarkers,
  writeRejections,
} from '@tandem/runtime';
import {
  type AuthorityJournal,
  type AuthorityRecovered,
  type AuthorityStore,
  fileAuthorityStore,
} from './authority-store.js';
import {
  captureFrame,
  FramePipeline,
  type KeptFrame,
  recoveredWireForms,
  type SyncingFrames,
} from './frame-pipeline.js';

export type { KeptFrame } from './frame-pipeline.js';

export interface AuthorityOptions {
  readonly docId: string;
  readonly reducer: ReducerModule;
  /** Where the document persists (authority-store.ts); in memory only without one (nor `storage`). */
  readonly store?: AuthorityStore;
  /** Shorthand for `store: fileAuthorityStore(storage, { segmentBytes })`: the file journal in a folder. */
  readonly storage?: ByteStore;
  /** Frames between two checkpoints of the page file; 1000 by default. */
  readonly checkpointEvery?: number;
  /** Frame log segment files close at this size (JournalOptions); 8 MiB by default. */
  readonly segmentBytes?: number;
  /**
   * The largest the database may grow to (bytes): a batch that grows it past this is rejected whole
   * (its markers and rejection reasons are still recorded). Unlimited by default.
   */
  readonly maxDocumentBytes?: number;
  /** Called with each frame once it is durable. */
  readonly onFrame?: (frame: Frame) => void;
  readonly onLog?: (level: string, message: string) => void;
}

export interface PushRequest {
  readonly timelineId: string;
  /** SHA-256 (hex) of the pusher's timeline secret (invariant 10); without one, only unbound timelines. */
  readonly secretHash?: string;
  /** Consecutive mutations of that timeline, in lsn order. */
  readonly mutations: readonly MutationEnvelope[];
}

export type PushOutcome =
  | { readonly lsn: number; readonly ok: true }
  | { readonly lsn: number; readonly ok: false; readonly reason: string };

export type PushErrorKind = 'gap' | 'invalid-mutation' | 'timeline-taken';

export type PushResult =
  | {
      readonly status: 'accepted';
      readonly timelineId: string;
      /** The timeline's marker after this push. */
      readonly appliedLsn: number;
      /** One per mutation taken (duplicates get none). */
      readonly outcomes: readonly PushOutcome[];
    }
  | {
      readonly status: 'refused';
      readonly timelineId: string;
      readonly kind: PushErrorKind;
      readonly message: string;
      /** The timeline's marker, unchanged by the refused push (-1 for none). */
      readonly appliedLsn: number;
      /** For `gap`: the lsn the timeline must continue with. */
      readonly expectedLsn?: number;
    };

export interface PushReport {
  /** The frame the accepted mutations made (none when nothing was taken). */
  readonly frameLsn: number | undefined;
  /** That frame, durable, in its wire form (invariant 9), for the caller to broadcast. */
  readonly frame: WireFrame | undefined;
  readonly results: readonly PushResult[];
}

/** What a client at `cursor` needs to reach `nextFrameLsn`. */
export type CatchUp =
  | { readonly status: 'frames'; readonly frames: readonly KeptFrame[] }
  /** The cursor lies before the kept frames (or beyond the head): only a snapshot gets it there. */
  | { readonly status: 'behind' };

/** A push applied, its frame's sync begun: what reporting it needs. */
interface AppliedStep {
  readonly syncing: SyncingFrames;
  /** The markers it advanced. */
  readonly updates: ReadonlyMap<string, number>;
  /** Its results, given each timeline's durable marker. */
  readonly report: (marker: (timelineId: string) => number) => PushResult[];
}

export interface DocumentSnapshot {
  /** The frames folded into the image: frames from this lsn on follow it. */
  readonly frameCount: number;
  /** A deflated page image (`encodePageImage` records, concatenated); `decodePageImage` reads it. */
  readonly bytes: Uint8Array;
}

export class AuthorityDocument {
  readonly docId: string;
  readonly journalId: string;
  readonly #replica: Replica;
  readonly #journal: AuthorityJournal | undefined;
  /** Each timeline's marker in durable frames (invariant 4): what others are told. */
  readonly #markers: Map<string, number>;
  /** Each timeline's marker in the frames applied, durable or not: what the next push continues. */
  readonly #appliedMarkers: Map<string, number>;
  /** Each bound timeline's secret hash (invariant 10), as applied. */
  readonly #bindings: Map<string, string>;
  readonly #maxDocumentBytes: number | undefined;
  readonly #checkpointEvery: number;
  readonly #onFrame: ((frame: Frame) => void) | undefined;
  /** Frames committed and not yet durable: their syncs and wire forms (frame-pipeline.ts). */
  readonly #pipeline: FramePipeline;
  #nextFrameLsn: number;
  #checkpointedAt: number;
  /** The durable frames since the last checkpoint (invariant 7), the first of them at `#keptFrom`. */
  #kept: KeptFrame[];
  #keptFrom: number;
  #snapshot: DocumentSnapshot | undefined;
  /** Applies, snapshots and checkpoints run one after another on this chain. */
  #chain: Promise<unknown> = Promise.resolve();
  /** Settles once every push called so far has been reported (or has failed). */
  #reported: Promise<unknown> = Promise.resolve();
  /** The frame lsn after the frames applied so far, durable or not. */
  #appliedFrameLsn: number;
  #closed = false;
  /** A transaction of this document committed markers: the marker table needs no check (runtime applied-marker.ts). */
  #markerTableReady = false;
  /** What this open did to the schema: the version it found, the reducer's, and whether `migrate` ran. */
  readonly migration: MigrationReport;

  private constructor(
    options: AuthorityOptions,
    replica: Replica,
    journal: AuthorityJournal | undefined,
    captured: KeptFrame[],
    nextFrameLsn: number,
    journalId: string,
    kept: KeptFrame[],
    migration: MigrationReport,
  ) {
    this.docId = options.docId;
    this.migration = migration;
    this.journalId = journalId;
    this.#kept = kept;
    this.#replica = replica;
    this.#journal = journal;
    this.#pipeline = new FramePipeline(options.docId, journal, captured);
    this.#nextFrameLsn = nextFrameLsn;
    this.#appliedFrameLsn = nextFrameLsn;
    this.#markers = readAppliedMarkers(replica);
    this.#appliedMarkers = new Map(this.#markers);
    this.#bindings = readTimelineBindings(replica);
    this.#maxDocumentBytes = options.maxDocumentBytes;
    this.#checkpointEvery = options.checkpointEvery ?? 1000;
    this.#onFrame = options.onFrame;
    this.#keptFrom = nextFrameLsn - kept.length;
    this.#checkpointedAt = this.#keptFrom;
  }

  static async open(options: AuthorityOptions): Promise<AuthorityDocument> {
    const captured: KeptFrame[] = [];
    let journal: AuthorityJournal | undefined;
    let replica: Replica | undefined;
    // The pages are read, and the reducer checked against their schema version, before the journal's
    // recovery writes anything: a refused document keeps its files byte for byte.
    const openReplica = async (
      recovered?: Pick<AuthorityRecovered, 'image' | 'frames'>,
    ): Promise<Replica> => {
      const store = recovered ? rebuildStore(recovered) : new PageStore();
      const opening = await Replica.open({
        name: `authority:${options.docId}`,
        reducer: options.reducer,
        authoritative: true,
        store,
        firstFrameLsn: recovered ? (recovered.image?.frameCount ?? 0) + recovered.frames.length : 0,
        onFrame: (frame) => {
          // The fold follows this callback: the base still holds the pages the frame replaces. The
          // wire form is computed before the append, which stores it (frame-pipeline.ts invariant 3).
          captured.push(captureFrame(frame, (pgno) => store.readBase(pgno)));
          journal?.appendFrame(frame);
        },
        ...(options.onLog && { onLog: options.onLog }),
      });
      try {
        refuseOlderReducer(opening, options.docId);
      } catch (error) {
        opening.close();
        throw error;
      }
      return opening;
    };
    const store =
      options.store ??
      (options.storage &&
        fileAuthorityStore(options.storage, {
          ...(options.segmentBytes !== undefined && { segmentBytes: options.segmentBytes }),
        }));
    const opened =
      store &&
      (await store
        .open({
          journalId: newJournalId(),
          beforeWrite: async (read) => {
            replica = await openReplica(read);
          },
        })
        .catch((error: unknown) => {
          replica?.close();
          throw error;
        }));
    journal = opened?.journal;
    replica ??= await openReplica();
    const firstFrameLsn = opened?.journal.nextFrameLsn ?? 0;
    const kept = opened ? recoveredWireForms(opened.recovered) : [];
    try {
      const migration = ensureSchema(replica);
      const document = new AuthorityDocument(
        options,
        replica,
        opened?.journal,
        captured,
        firstFrameLsn,
        opened?.recovered.journalId ?? newJournalId(),
        kept,
        migration,
      );
      await document.#persist(document.#startSync());
      return document;
    } catch (error) {
      replica.close();
      throw error;
    }
  }

  /** The lsn of the frame after the durable ones (invariant 4). */
  get nextFrameLsn(): number {
    return this.#nextFrameLsn;
  }

  /** The marker of every timeline that has pushed, in the durable frames (invariant 4). */
  get appliedMarkers(): ReadonlyMap<string, number> {
    return this.#markers;
  }

  /** Whether a push under `secretHash` would be refused as `timeline-taken` (invariant 10). */
  timelineTaken(timelineId: string, secretHash: string | undefined): boolean {
    const bound = this.#bindings.get(timelineId);
    return bound !== undefined && bound !== secretHash;
  }

  /**
   * Applies pushes that arrived together in one transaction, and reports them once their frame is
   * durable; see the invariants above (3, 4).
   */
  push(requests: readonly PushRequest[]): Promise<PushReport> {
    // The pushes called before this one: their applies run before its apply, their reports before its.
    const previous = this.#reported;
    const applied = this.#chain.then(() => this.#apply(requests, previous));
    this.#chain = applied.catch(() => undefined);
    const report = (async () => {
      let step: AppliedStep;
      try {
        step = await applied;
      } finally {
        // Its sync runs meanwhile; what came before is reported first, failed or not (invariant 3).
        await previous;
      }
      return this.#report(step);
    })();
    this.#reported = report.catch(() => undefined);
    return report;
  }

  /**
   * The durable frames from `cursor` to `nextFrameLsn` (none when the cursor is the head), or `behind`
   * when frames before `cursor` were folded into a checkpoint or the cursor lies past the head.
   */
  framesSince(cursor: number): CatchUp {
    this.#assertOpen();
    if (cursor < this.#keptFrom || cursor > this.#keptFrom + this.#kept.length) return { status: 'behind' };
    return { status: 'frames', frames: this.#kept.slice(cursor - this.#keptFrom) };
  }

  /** A compressed image of the document after its durable frames (invariant 8); reused until a frame lands. */
  snapshot(): Promise<DocumentSnapshot> {
    const before = this.#reported;
    const run = this.#chain.then(async () => {
      // Nothing applied may be undurable in the pages it takes (invariant 8): the pushes applied before
      // it are those called before it.
      await before;
      this.#assertOpen();
      const frameCount = this.#nextFrameLsn;
      if (this.#snapshot?.frameCount !== frameCount) {
        const records = await encodePageImage(this.#replica.store.base(), frameCount, 'deflate');
        this.#snapshot = { frameCount, bytes: concatBytes(records) };
      }
      return this.#snapshot;
    });
    this.#chain = run.catch(() => undefined);
    return run;
  }

  query(sql: string, params: readonly (string | number | null | boolean)[] = []) {
    this.#assertOpen();
    return this.#replica.query(sql, params);
  }

  pageHash(): Promise<string> {
    this.#assertOpen();
    return this.#replica.pageHash();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#chain;
    await this.#reported;
    this.#closed = true;
    // A failed mark was told to the pushes after it; closing goes on (a reopen demands less, no more).
    await this.#journal?.marked?.().catch(() => undefined);
    this.#replica.close();
  }

  /**
   * The applying half of a push: checks and reduces it in one transaction, starts its frame's sync and
   * returns what `#report` needs once that sync is done. Runs on `#chain`.
   */
  async #apply(requests: readonly PushRequest[], previous: Promise<unknown>): Promise<AppliedStep> {
    this.#assertOpen();
    if (this.#checkpointDue(this.#appliedFrameLsn)) {
      // A checkpoint takes the base: only once every frame applied is durable (invariant 8), which
      // `previous` waits for (a report checkpoints itself when nothing was applied after its frame).
      await previous;
      this.#assertOpen();
      if (this.#checkpointDue(this.#appliedFrameLsn)) await this.#checkpoint();
    }
    const batch: MutationEnvelope[] = [];
    const updates = new Map<string, number>();
    const bindings = new Map<string, string>();
    const taken: { request: PushRequest; from: number; count: number }[] = [];
    const results: (PushResult | undefined)[] = [];
    const markerOf = (id: string): number => updates.get(id) ?? this.#appliedMarkers.get(id) ?? -1;
    for (const request of requests) {
      const refusal = checkRequest(request, markerOf);
      if (refusal !== undefined) {
        results.push(refusal);
        continue;
      }
      const last = markerOf(request.timelineId);
      const bound = bindings.get(request.timelineId) ?? this.#bindings.get(request.timelineId);
      if (bound !== undefined && bound !== request.secretHash) {
        results.push({
          status: 'refused',
          timelineId: request.timelineId,
          appliedLsn: last,
          kind: 'timeline-taken',
          message: `timeline ${request.timelineId} belongs to another client (its secret differs)`,
        });
        continue;
      }
      const fresh = request.mutations.filter((m) => m.lsn > last);
      const first = fresh[0];
      if (first !== undefined && first.lsn !== last + 1) {
        results.push({
          status: 'refused',
          timelineId: request.timelineId,
          appliedLsn: last,
          kind: 'gap',
          message: `timeline ${request.timelineId} continues at lsn ${last + 1}, not ${first.lsn}`,
          expectedLsn: last + 1,
        });
        continue;
      }
      if (first !== undefined) {
        updates.set(request.timelineId, fresh.at(-1)!.lsn);
        if (bound === undefined && request.secretHash !== undefined) {
          bindings.set(request.timelineId, request.secretHash);
        }
      }
      taken.push({ request, from: batch.length, count: fresh.length });
      batch.push(...fresh);
      results.push(undefined);
    }

    const outcomes = batch.length === 0 ? [] : this.#reduce(batch, updates, bindings);
    for (const [timelineId, lsn] of updates) this.#appliedMarkers.set(timelineId, lsn);
    for (const [timelineId, hash] of bindings) this.#bindings.set(timelineId, hash);
    const syncing = this.#startSync();
    let next = 0;
    const report = (marker: (timelineId: string) => number): PushResult[] =>
      results.map((result) => {
        if (result !== undefined) return result;
        const { request, from, count } = taken[next++]!;
        return {
          status: 'accepted',
          timelineId: request.timelineId,
          appliedLsn: marker(request.timelineId),
          outcomes: batch.slice(from, from + count).map((m, i): PushOutcome => {
            const outcome = outcomes[from + i];
            return outcome?.ok
              ? { lsn: m.lsn, ok: true }
              : { lsn: m.lsn, ok: false, reason: outcome?.reason ?? 'no outcome' };
          }),
        };
      });
    return { syncing, updates, report };
  }

  /** The reporting half of a push: once its frame is durable, its markers are too, and it is reported. */
  async #report(step: AppliedStep): Promise<PushReport> {
    const frame = (await this.#persist(step.syncing)).at(-1);
    for (const [timelineId, lsn] of step.updates) this.#markers.set(timelineId, lsn);
    // Nothing applied after this frame: the base holds durable frames only, and the next apply waits
    // for this report (it is in its `previous`), so the checkpoint is not raced.
    if (this.#checkpointDue(this.#nextFrameLsn) && this.#appliedFrameLsn === this.#nextFrameLsn) {
      await this.#checkpoint();
    }
    const results = step.report((timelineId) => this.#markers.get(timelineId) ?? -1);
    return { frameLsn: frame?.frame.lsn, frame: frame?.wire, results };
  }

  /**
   * Reduces the batch with its markers and rejections in one transaction. A batch that would grow the
   * document past its quota is rolled back and taken again as rejected: the markers still advance, so
   * the mutations never block the ones behind them.
   */
  #reduce(
    batch: readonly MutationEnvelope[],
    updates: ReadonlyMap<string, number>,
    bindings: ReadonlyMap<string, string>,
  ): Outcome[] {
    const replica = this.#replica;
    const tableReady = this.#markerTableReady;
    const record = (outcomes: readonly Outcome[]): void => {
      writeAppliedMarkers(replica, updates, bindings, tableReady);
      writeRejections(
        replica,
        outcomes.flatMap((outcome, i) =>
          outcome.ok
            ? []
            : [{ timelineId: batch[i]!.timelineId, lsn: batch[i]!.lsn, reason: outcome.reason }],
        ),
      );
    };
    const limit = this.#maxDocumentBytes;
    // SQLite's own count: inside a transaction the file has not grown yet, its page cache has. Asked
    // only under a limit (a query each time, twice a push).
    const pageCount = (): number => Number(replica.query('PRAGMA page_count')[0]?.page_count ?? 0);
    const pagesBefore = limit === undefined ? 0 : pageCount();
    let outcomes: Outcome[];
    try {
      outcomes = replica.applyBatch(batch, (applied) => {
        record(applied);
        if (limit === undefined) return;
        // Only growth past the limit is refused: work that frees or reuses pages still goes on.
        const pages = pageCount();
        if (pages * PAGE_SIZE > limit && pages > pagesBefore) throw new OverQuota();
      });
    } catch (error) {
      if (!(error instanceof OverQuota)) throw error;
      const reason = `document size quota exceeded (${limit} bytes)`;
      outcomes = batch.map(() => ({ ok: false, reason }));
      replica.transaction(() => record(outcomes));
    }
    // Committed: the markers' table exists as this transaction left it.
    if (updates.size > 0) this.#markerTableReady = true;
    return outcomes;
  }

  /** Starts the sync of the frames committed so far (frame-pipeline.ts); `#persist` awaits it. */
  #startSync(): SyncingFrames {
    const syncing = this.#pipeline.start();
    if (syncing.lastLsn !== undefined) this.#appliedFrameLsn = syncing.lastLsn + 1;
    return syncing;
  }

  /**
   * Waits for a sync `#startSync` began, then keeps and reports its frames; returns them. Runs in push
   * order, after every earlier push was reported (invariant 3).
   */
  async #persist(syncing: SyncingFrames): Promise<KeptFrame[]> {
    const frames = await this.#pipeline.settle(syncing);
    if (syncing.lastLsn === undefined) return [];
    this.#nextFrameLsn = syncing.lastLsn + 1;
    this.#kept.push(...frames);
    for (const { frame } of frames) this.#onFrame?.(frame);
    return frames;
  }

  /** Whether the frame log has grown enough, at `frameLsn`, for a checkpoint. */
  #checkpointDue(frameLsn: number): boolean {
    return frameLsn - this.#checkpointedAt >= this.#checkpointEvery;
  }

  /** Folds the durable frames into a checkpoint of the base; none may be applied and not durable. */
  async #checkpoint(): Promise<void> {
    await this.#journal?.checkpoint(this.#replica.store.base(), this.#nextFrameLsn);
    this.#checkpointedAt = this.#nextFrameLsn;
    this.#kept = [];
    this.#keptFrom = this.#nextFrameLsn;
  }

  #assertOpen(): void {
    if (this.#closed) throw new TandemError('closed', `document ${this.docId} is closed`);
    const failure = this.#pipeline.failure;
    if (failure !== undefined) throw failure;
  }
}

class OverQuota extends Error {}

/**
 * A request that cannot be taken as it is, as a refusal; undefined when it is well formed. The domain is
 * the protocol's (`pushProblem`), so nothing the coordinator takes can make the reducer host throw and
 * fail the document.
 */
function checkRequest(
  request: PushRequest,
  markerOf: (timelineId: string) => number,
): PushResult | undefined {
  const problem = pushProblem(request.timelineId, request.mutations);
  if (problem === undefined) return undefined;
  const { timelineId } = request;
  return {
    status: 'refused',
    timelineId: String(timelineId),
    appliedLsn: typeof timelineId === 'string' ? markerOf(timelineId) : -1,
    kind: 'invalid-mutation',
    message: problem,
  };
}

/** A random id for a new history (invariant 6). */
function newJournalId(): string {
  return crypto.randomUUID();
}
