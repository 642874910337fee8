// One document's connections on the coordinator's main thread: it sends the document's work to the
// pool one step at a time and fans each frame out to every connection.
//
// Invariants:
// 1. One step at a time per document: a step is either the catch-ups of the connections that joined
//    since the last step, or one pool push carrying every push queued since (pushes that arrive
//    together, or while the step before runs, share one transaction, and so one frame and one sync).
// 2. A connection becomes a member in the step that computed its catch-up, before the next push step:
//    the frames it gets are its catch-up, then every frame pushed after it, so each connection sees the
//    document's frames in lsn order without a gap or a repeat.
// 3. A push step hands its frame to every member before the pushers hear their `push-result`, and no
//    member hears of a push before the step's frame is durable (the pool's push resolves only then).
// 6. A frame is encoded once per step, whatever the number of members: they all send the same bytes.
// 4. When a step fails (the worker or the document's storage failed), every member is told and
//    dropped, the failure is logged and counted, and the document is released so the next connection
//    reopens it from its journal.
// 5. While the hub is not idle it holds its document open in the pool; once idle it lets go, and the
//    pool may close the document (document-pool.ts).

import type { PushReport, PushRequest, PushResult } from '@tandem/migrations';
import { encodeMessage, TandemError, type WireFrame } from '@tandem/runtime';
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
   * (`storage-corrupt`: the document is refused until an operator recovers it).
   */
  failed(message: string, kind?: string): void;
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

export class DocumentHub {
  readonly docId: string;
  readonly #pool: HubPool;
  readonly #members = new Set<HubMember>();
  /** Connections that left, perhaps while their catch-up was being computed: never added back. */
  readonly #departed = new WeakSet<HubMember>();
  #joins: Join[] = [];
  #pushes: QueuedPush[] = [];
  #running: Promise<void> | undefined;
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
    return (
      this.#members.size === 0 &&
      this.#joins.length === 0 &&
      this.#pushes.length === 0 &&
      this.#running === undefined
    );
  }

  /** Queues a catch-up for `member` (a re-join after falling behind is one too). */
  join(member: HubMember, request: CatchUpRequest): void {
    this.#release ??= this.#pool.hold(this.docId);
    this.#joins.push({ member, request });
    this.#run();
  }

  push(member: HubMember, request: PushRequest): void {
    this.#release ??= this.#pool.hold(this.docId);
    this.#pushes.push({ member, request });
    this.#run();
  }

  /** Forgets `member` and anything it queued. */
  leave(member: HubMember): void {
    this.#departed.add(member);
    this.#members.delete(member);
    this.#joins = this.#joins.filter((j) => j.member !== member);
    this.#pushes = this.#pushes.filter((p) => p.member !== member);
    if (this.idle) this.#becameIdle();
  }

  /** Resolves once the step in progress (if any) and those queued behind it are done. */
  async settled(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  #run(): void {
    if (this.#running !== undefined) return;
    // The first step waits for this turn of the event loop to end: pushes whose bytes arrived together
    // (read in one poll) share its transaction, not just those queued while a step runs.
    this.#running = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.#steps())
      .finally(() => {
        this.#running = undefined;
        if (this.idle) this.#becameIdle();
      });
  }

  #becameIdle(): void {
    this.#release?.();
    this.#release = undefined;
    this.#onIdle(this);
  }

  async #steps(): Promise<void> {
    for (;;) {
      const joins = this.#joins.splice(0);
      for (const join of joins) await this.#catchUp(join);
      const pushes = this.#takePushes();
      if (pushes.length > 0) await this.#push(pushes);
      if (joins.length === 0 && pushes.length === 0) return;
    }
  }

  async #catchUp({ member, request }: Join): Promise<void> {
    let reply: CatchUpReply;
    try {
      reply = await this.#pool.catchUp(this.docId, request);
    } catch (error) {
      await this.#fail(error);
      member.failed(describe(error), kindOf(error));
      return;
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

  async #push(pushes: readonly QueuedPush[]): Promise<void> {
    let report: PushReport;
    const started = performance.now();
    try {
      report = await this.#pool.push(
        this.docId,
        pushes.map((p) => p.request),
      );
    } catch (error) {
      await this.#fail(error);
      return;
    }
    const { frame } = report;
    this.#record(report, performance.now() - started);
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
    this.#log?.error({ docId: this.docId, members: this.#members.size, ...fields }, 'document failed');
    this.#metrics?.inc('tandem_document_failures_total', {
      kind: typeof fields.kind === 'string' ? fields.kind : 'error',
    });
    const members = [...this.#members];
    this.#members.clear();
    this.#joins = [];
    this.#pushes = [];
    for (const member of members) member.failed(message, kindOf(error));
    await this.#pool.release(this.docId).catch(() => undefined);
  }
}

function kindOf(error: unknown): string | undefined {
  return error instanceof TandemError ? error.kind : undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
