// One document's connections on the coordinator's main thread: it sends the document's work to the
// pool and fans each frame out to every connection.
//
// Invariants:
// 1. Pushes are sent in steps: one pool push carries every push queued since the last step (pushes that
//    arrive together, or while the steps before run, share one transaction, and so one frame and one
//    sync). Up to MAX_STEPS_IN_FLIGHT steps are out at once, so the document applies the next group
//    while the last group's frame syncs (AuthorityDocument invariant 4); their outcomes are handled
//    strictly in the order the steps were sent.
// 2. Catch-ups run with no step out: a connection becomes a member in the step that computed its
//    catch-up, before the next push step is sent, so the frames it gets are its catch-up, then every
//    frame pushed after it, each connection seeing the document's frames in lsn order without a gap or
//    a repeat.
// 3. A push step hands its frame to every member before the pushers hear their `push-result`, and no
//    member hears of a push before the step's frame is durable (the pool's push resolves only then).
// 4. When a step fails (the worker or the document's storage failed), every member is told and
//    dropped, the failure is logged and counted, and the document is released so the next connection
//    reopens it from its journal; the outcomes of the steps sent after it are dropped, never handled.
// 5. While the hub is not idle it holds its document open in the pool; once idle it lets go, and the
//    pool may close the document (document-pool.ts).
// 6. A frame is encoded once per step, whatever the number of members: they all send the same bytes.

import { encodeMessage, TandemError, type WireFrame } from '@tandem/runtime';
import type { PushReport, PushRequest, PushResult } from './authority/authority-document.js';
import type { CatchUpReply, CatchUpRequest } from './catch-up.js';
import type { DocumentPool } from './document-pool.js';
import { errorFields, type Log } from './log.js';
import type { Metrics } from './metrics.js';

/** What the hub needs from a connection. */
export interface HubMember {
  /** The catch-up computed for the member; it is a member from now on. */
  caughtUp(reply: CatchUpReply): void;
  /** A frame made durable after the member's catch-up, and its `frames` message, encoded once for all. */
  frame(frame: WireFrame, message: Uint8Array): void;
  /** The fate of one of the member's pushes, after its frame went to every member. */
  pushed(result: PushResult, frameLsn: number | undefined): void;
  /**
   * The document failed; the member is no longer one. `kind` is the TandemError kind, if any
   * (`storage-corrupt`: the document is refused until an operator recovers it; `document-owned`: another
   * coordinator holds it, reached at `ownerUrl` when known).
   */
  failed(message: string, kind?: string, retryAfterMs?: number, ownerUrl?: string): void;
}

/** What the hub needs from the pool (tests put a document of their own behind it). */
export type HubPool = Pick<DocumentPool, 'push' | 'catchUp' | 'hold' | 'release'>;

interface Join {
  readonly member: HubMember;
  readonly request: CatchUpRequest;
}

interface QueuedPush {
  readonly member: HubMember;
  readonly request: PushRequest;
}

/** One transaction takes at most this many mutations / payload bytes; the rest wait for the next step. */
const MAX_STEP_MUTATIONS = 5000;
const MAX_STEP_BYTES = 8 * 1024 * 1024;
/**
 * Push steps out at once (invariant 1): one being synced while the next is applied. More would only
 * split the queued pushes into smaller groups, each with its own frame and sync.
 */
const MAX_STEPS_IN_FLIGHT = 2;

export class DocumentHub {
  readonly docId: string;
  readonly #pool: HubPool;
  readonly #members = new Set<HubMember>();
  /** Connections that left, perhaps while their catch-up was being computed: never added back. */
  readonly #departed = new WeakSet<HubMember>();
  #joins: Join[] = [];
  #pushes: QueuedPush[] = [];
  /** Steps sent and not yet handled, oldest first (invariant 1). */
  #inFlight = 0;
  /** Settles once the last step sent has been handled: the next one's outcome waits for it. */
  #handled: Promise<void> = Promise.resolve();
  /** A pass over the queues is scheduled (at the end of this turn of the event loop). */
  #scheduled = false;
  /** Catch-ups are being computed (invariant 2). */
  #joining = false;
  /** Bumped when the document fails: the outcomes of steps sent before are dropped (invariant 4). */
  #epoch = 0;
  /** Who waits for the hub to have nothing queued, out or running. */
  #settledWaiters: (() => void)[] = [];
  readonly #onIdle: (hub: DocumentHub) => void;

  readonly #metrics: Metrics | undefined;
  readonly #log: Log | undefined;
  /** Lets go of the document in the pool; set while the hub is not idle (invariant 5). */
  #release: (() => void) | undefined;

  constructor(
    docId: string,
    pool: HubPool,
    onIdle: (hub: DocumentHub) => void,
    metrics?: Metrics,
    log?: Log,
  ) {
    this.docId = docId;
    this.#pool = pool;
    this.#onIdle = onIdle;
    this.#metrics = metrics;
    this.#log = log;
  }

  get members(): number {
    return this.#members.size;
  }

  /** No members, nothing queued, nothing running: the hub may be dropped. */
  get idle(): boolean {
    return this.#members.size === 0 && this.#joins.length === 0 && this.#pushes.length === 0 && !this.#busy;
  }

  /** Queues a catch-up for `member` (a re-join after falling behind is one too). */
  join(member: HubMember, request: CatchUpRequest): void {
    this.#release ??= this.#pool.hold(this.docId);
    this.#joins.push({ member, request });
    this.#schedule();
  }

  push(member: HubMember, request: PushRequest): void {
    this.#release ??= this.#pool.hold(this.docId);
    this.#pushes.push({ member, request });
    this.#schedule();
  }

  /** Forgets `member` and anything it queued. */
  leave(member: HubMember): void {
    this.#departed.add(member);
    this.#members.delete(member);
    this.#joins = this.#joins.filter((j) => j.member !== member);
    this.#pushes = this.#pushes.filter((p) => p.member !== member);
    if (this.idle) this.#becameIdle();
  }

  /** Resolves once nothing is queued, out or running. */
  async settled(): Promise<void> {
    if (!this.#busy && this.#joins.length === 0 && this.#pushes.length === 0) return;
    await new Promise<void>((resolve) => this.#settledWaiters.push(resolve));
  }

  get #busy(): boolean {
    return this.#scheduled || this.#joining || this.#inFlight > 0;
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    // Waits for this turn of the event loop to end: pushes whose bytes arrived together (read in one
    // poll) share a step, not just those queued while a step is out.
    setImmediate(() => {
      this.#scheduled = false;
      this.#pump();
    });
  }

  /** Sends what the queues allow now (invariants 1, 2); tells the waiters when all is done. */
  #pump(): void {
    if (this.#joining) return;
    if (this.#joins.length > 0) {
      // Catch-ups wait for the steps out to be handled; no step is sent meanwhile.
      if (this.#inFlight === 0) void this.#catchUps();
    } else {
      while (this.#inFlight < MAX_STEPS_IN_FLIGHT && this.#pushes.length > 0) this.#send(this.#takePushes());
    }
    if (!this.#busy && this.#joins.length === 0 && this.#pushes.length === 0) {
      for (const resolve of this.#settledWaiters.splice(0)) resolve();
      if (this.idle) this.#becameIdle();
    }
  }

  async #catchUps(): Promise<void> {
    this.#joining = true;
    try {
      for (let join = this.#joins.shift(); join !== undefined; join = this.#joins.shift()) {
        await this.#catchUp(join);
      }
    } finally {
      this.#joining = false;
      this.#pump();
    }
  }

  #becameIdle(): void {
    this.#release?.();
    this.#release = undefined;
    this.#onIdle(this);
  }

  async #catchUp({ member, request }: Join): Promise<void> {
    let reply: CatchUpReply;
    try {
      reply = await this.#pool.catchUp(this.docId, request);
    } catch (error) {
      await this.#fail(error);
      member.failed(describe(error), kindOf(error), retryOf(error), ownerOf(error));
      return;
    }
    const failure = reply.migrationFailure;
    if (failure !== undefined) {
      this.#log?.warn({ docId: this.docId, ...failure }, 'migration failed');
      this.#metrics?.inc('tandem_migration_failures_total');
    }
    if (this.#departed.has(member)) return;
    this.#members.add(member);
    member.caughtUp(reply);
  }

  /** The queued pushes one transaction takes: all of them, up to a bound on mutations and bytes. */
  #takePushes(): QueuedPush[] {
    let mutations = 0;
    let bytes = 0;
    let count = 0;
    for (const push of this.#pushes) {
      const size = push.request.mutations.reduce((n, m) => n + m.payload.length, 0);
      if (
        count > 0 &&
        (mutations + push.request.mutations.length > MAX_STEP_MUTATIONS || bytes + size > MAX_STEP_BYTES)
      )
        break;
      mutations += push.request.mutations.length;
      bytes += size;
      count++;
    }
    return this.#pushes.splice(0, count);
  }

  /** Sends one step; its outcome is handled after those of the steps sent before it (invariant 1). */
  #send(pushes: readonly QueuedPush[]): void {
    this.#inFlight++;
    const epoch = this.#epoch;
    const started = performance.now();
    const outcome = this.#pool.push(
      this.docId,
      pushes.map((p) => p.request),
    );
    // Told once, through the handling below; a rejection is not left unhandled meanwhile.
    outcome.catch(() => undefined);
    const previous = this.#handled;
    this.#handled = (async () => {
      await previous;
      try {
        const report = await outcome;
        if (epoch === this.#epoch) this.#handle(pushes, report, performance.now() - started);
      } catch (error) {
        if (epoch === this.#epoch) await this.#fail(error);
      } finally {
        this.#inFlight--;
        this.#pump();
      }
    })();
  }

  #handle(pushes: readonly QueuedPush[], report: PushReport, ms: number): void {
    const { frame } = report;
    this.#record(report, ms);
    if (frame !== undefined && this.#members.size > 0) {
      const message = encodeMessage({ type: 'frames', frames: [frame], more: false });
      for (const member of this.#members) member.frame(frame, message);
    }
    pushes.forEach((push, i) => {
      const result = report.results[i];
      if (result !== undefined && this.#members.has(push.member)) push.member.pushed(result, report.frameLsn);
    });
  }

  #record(report: PushReport, ms: number): void {
    const metrics = this.#metrics;
    if (metrics === undefined) return;
    metrics.inc('tandem_push_seconds_sum', {}, ms / 1000);
    metrics.inc('tandem_push_seconds_count');
    for (const result of report.results) {
      if (result.status === 'refused') {
        metrics.inc('tandem_pushes_refused_total', { kind: result.kind });
        continue;
      }
      metrics.inc('tandem_pushes_total');
      const rejected = result.outcomes.filter((o) => !o.ok).length;
      metrics.inc('tandem_mutations_total', { outcome: 'applied' }, result.outcomes.length - rejected);
      metrics.inc('tandem_mutations_total', { outcome: 'rejected' }, rejected);
    }
    if (report.frame !== undefined) {
      metrics.inc('tandem_frames_total');
      metrics.inc(
        'tandem_frame_bytes_total',
        {},
        report.frame.pages.reduce((n, p) => n + p.delta.length, 0),
      );
    }
  }

  async #fail(error: unknown): Promise<void> {
    const message = describe(error);
    const fields = errorFields(error);
    // Another coordinator owning it is routing, not a failure: its clients are sent there.
    if (fields.kind === 'document-owned')
      this.#log?.debug({ docId: this.docId, ...fields }, 'document owned elsewhere');
    else this.#log?.error({ docId: this.docId, members: this.#members.size, ...fields }, 'document failed');
    this.#metrics?.inc('tandem_document_failures_total', {
      kind: typeof fields.kind === 'string' ? fields.kind : 'error',
    });
    // The steps sent after the failed one are the failed document's: their outcomes are dropped.
    this.#epoch++;
    // Those still waiting for their catch-up are told too: dropped silently, they would wait for
    // their welcome until their connection timed out.
    const members = [...this.#members, ...this.#joins.map((join) => join.member)];
    this.#members.clear();
    this.#joins = [];
    this.#pushes = [];
    for (const member of members) member.failed(message, kindOf(error), retryOf(error), ownerOf(error));
    await this.#pool.release(this.docId).catch(() => undefined);
  }
}

function kindOf(error: unknown): string | undefined {
  return error instanceof TandemError ? error.kind : undefined;
}

function retryOf(error: unknown): number | undefined {
  return error instanceof TandemError ? error.fields.retryAfterMs : undefined;
}

function ownerOf(error: unknown): string | undefined {
  return error instanceof TandemError ? error.fields.ownerUrl : undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
