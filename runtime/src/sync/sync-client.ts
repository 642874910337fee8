// A client's connection to the coordinator for one document (protocol v3, runtime/README.md): it
// catches the base up, pushes the timeline's pending mutations and hands every burst of frames to the
// document to rebase on. Transport-agnostic: it speaks to anything shaped like a WHATWG WebSocket
// (the browser's, or `ws` in Node).
//
// States: connecting → catching-up (welcome received, frames of the catch-up still coming) → live;
// any close → offline → (after a backoff with jitter) connecting; `close()` → closed, for good; an
// error retrying cannot cure (unauthorized, a timeline bound to another client's secret, another
// reducer, a protocol the coordinator does not speak, a timeline the coordinator cannot continue) →
// failed, for good, with `error` saying why. The app may take the client offline (`goOffline()`: the
// socket closes, nothing reconnects) until `goOnline()`, which connects at once. Offline is not failure:
// `whenLive()` keeps waiting through it.
//
// Connection invariants (sync-client.model.test.ts closes or fails the socket at every point):
// C1. One socket's life is one Session; `#session` is the current one, or none. Every socket callback,
//     timer and continuation after an await first checks that its session is still current: a message,
//     decode, close or timer of an ended session has no effect (a socket's wiring: connection.ts).
// C2. The state is derived, never stored apart: `closed`/`failed` once final, else the current
//     session's phase (connecting, catching-up, live), else offline. So `catching-up` and `live` always
//     have a current socket, and it is open: a session ends the moment its socket reports close or
//     error, or a send on it fails or finds it not open.
// C3. Offline after `start()` always has a retry armed (`#reconnects`), and the retry connects; a failing
//     `connect` just arms the next one. Except when the app took it offline (`#paused`): then there is
//     no socket and no retry, until `goOnline()` connects (at once, the backoff forgotten).
// C4. Anything thrown while handling a session's event — by the codec, the socket, or the document
//     (`rebase`, `pushed`, `pendingAfter`, `baseCursor`) — ends that session (offline, retry with
//     backoff; `lastDrop` says why), except a SyncFailure, or the document saying it can no longer take
//     anything (TandemError `storage-failed` or `closed`): those fail the client for good, since no retry
//     could deliver its pending mutations. Nothing escapes into a socket callback.
// C5. `failed` and `closed` are final: no socket, no timer; `whenLive()` rejects; a failure is told to
//     the document once (`syncFailed`), so what waits on the coordinator can stop waiting.
// C6. Each connection goes where and when `#reconnects` says (reconnects.ts, coordinator-list.ts): a
//     `redirect` ends the session and connects to its URL at once (bounded hops); any other drop but an
//     upgrade moves down the list. The document and its pending mutations stay the same (S2, S5, S6).
//
// Sync invariants:
// S1. Frames reach the document in lsn order without gaps, one burst at a time (`more: false` ends
//     one); a message out of order makes the client drop the connection and catch up again. A live
//     burst whose last frame has messages already waiting behind it stays open: following frames join
//     it, and any other message hands it to the document first, so frames that piled up while the
//     document was busy cost one rebase, and what follows them (a push's result, a head) is handled
//     with them in the base, as before.
// S2. Every pending mutation is pushed once per session, in lsn order, starting after the
//     coordinator's marker for this timeline (so nothing is skipped and a gap is never created); a
//     `gap` refusal rewinds to the lsn the coordinator expects — once: the refusals of the pushes sent
//     before that rewind are its echo, not new gaps.
// S3. Pushes awaiting their result stay within the coordinator's window (push-window.ts): the rest go
//     out as results come back, so a long offline backlog never trips its quota (which would drop the
//     connection again and again).
// S4. A frame's pages arrive as deltas against the previous version of each page (page-delta.ts): the
//     burst's snapshot if it has one, else the document's base, overlaid with the burst's earlier frames.
//     Frames are decoded as they arrive; the document only ever sees full pages.
// S5. A welcome whose marker for this timeline is below what the coordinator is known to have taken
//     fails the client (`history-reset`) rather than take the shorter history (welcome-marker.ts W1).
// S6. A welcome whose marker is above every lsn the document held when it opened and every lsn this
//     client pushed fails it (`timeline-damaged`): its timeline lost records (welcome-marker.ts W2).
// S8. A welcome naming another reducer than this client's is settled before anything else of its
//     session (client-reducer.ts, under the host's ReducerNegotiation). A newer one: the document moves
//     once its base caught up, nothing pushed before, then the client reconnects saying the new hash
//     (catch-up-upgrade.ts U1–U4). An older one: `waiting-for-reducer`, frames taken, heads answered,
//     nothing pushed, until a welcome names its own reducer (a deploy closes every connection). Anything
//     else fails it (`reducer-mismatch`, `upgrade-failed`). No push leaves under another reducer.
// S7. An `askHead()` is sent on the first session welcomed after it was made, and again on each later
//     one until answered (an answer dies with its session); it settles once, with the coordinator's
//     `head`, or rejects as `whenLive()` does once the client failed or was closed.
import { TandemError } from '../errors.js';
import { decodeServerMessage, encodeMessage, type ServerMessage } from '../protocol/codec.js';
import { PageVersions } from '../protocol/page-delta.js';
import { PROTOCOL_VERSION } from '../protocol/version.js';
import { CatchUpUpgrade } from './catch-up-upgrade.js';
import { ClientReducer } from './client-reducer.js';
import { openSession } from './connection.js';
import type { OfferedReducer } from './negotiation.js';
import { nextPush } from './push-window.js';
import { Reconnects } from './reconnects.js';
import { type Session, StaleSession } from './session.js';
import { SyncFailure, TERMINAL_ERRORS } from './sync-failure.js';
import {
  DECODER,
  type MessageDecoder,
  type ReducerWait,
  type SyncOptions,
  type SyncState,
  type SyncTarget,
  type WebSocketLike,
} from './sync-target.js';
import { type HeadAnswer, SyncWaits } from './sync-waits.js';
import { checkWelcomeMarker } from './welcome-marker.js';

export { SyncFailure, type SyncFailureReason } from './sync-failure.js';
export {
  DECODER,
  type MessageDecoder,
  type ReducerWait,
  type SyncOptions,
  type SyncState,
  type SyncTarget,
  type WebSocketLike,
} from './sync-target.js';
export type { HeadAnswer } from './sync-waits.js';

const OPEN = 1;

export class SyncClient {
  readonly #target: SyncTarget;
  readonly #options: SyncOptions;
  readonly #decoder: MessageDecoder;
  #session: Session | undefined;
  #final: 'failed' | 'closed' | undefined;
  #started = false;
  /** The app took the client offline (C3): no socket, no retry, until `goOnline()`. */
  #paused = false;
  #failure: SyncFailure | undefined;
  #lastDrop: string | undefined;
  /** The last lsn this client has sent in a push (S6). */
  #sentThrough = -1;
  /** The state last told to `onStateChange` and the waiters. */
  #told: SyncState = 'offline';
  /** `whenLive()` and `askHead()` calls still waiting (S7). */
  readonly #waits = new SyncWaits();
  /** The reducer this client says in hello, and what it waits for (S8). */
  readonly #reducer: ClientReducer;
  /** Where and when each connection goes (C3, C6). */
  readonly #reconnects: Reconnects;
  /** The move to a newer reducer (S8). */
  readonly #upgrade: CatchUpUpgrade;

  constructor(target: SyncTarget, options: SyncOptions) {
    this.#target = target;
    this.#options = options;
    this.#reconnects = new Reconnects(options, () => {
      if (this.#final === undefined && this.#session === undefined) this.#connect();
    });
    this.#decoder = options.decoder ?? DECODER;
    this.#reducer = new ClientReducer(target, options.reducerHash, options.negotiation, options.limits);
    this.#upgrade = new CatchUpUpgrade(
      target,
      this.#reducer,
      (session, work) => this.#await(session, work),
      (session, reducer) => this.#upgraded(session, reducer),
    );
  }

  /** Derived, never stored apart (C2). */
  get state(): SyncState {
    if (this.#final !== undefined) return this.#final;
    const phase = this.#session?.phase;
    if (phase === undefined) return 'offline';
    return phase !== 'connecting' && this.#reducer.waitingFor !== undefined ? 'waiting-for-reducer' : phase;
  }

  /** The reducer hash this client says in hello (its document's; the new one after an upgrade). */
  get reducerHash(): string {
    return this.#reducer.hash;
  }

  /** What the client waits for while the coordinator runs an older reducer (S8). */
  get waitingFor(): ReducerWait | undefined {
    return this.#reducer.waitingFor;
  }

  /** Why the client failed (state `failed`). */
  get error(): SyncFailure | undefined {
    return this.#failure;
  }

  /** Why the last connection ended, while retrying (undefined once a session has gone live again). */
  get lastDrop(): string | undefined {
    return this.#lastDrop;
  }

  /** The last redirect refused (C6), until live again. */
  get redirectRefused(): Reconnects['refused'] {
    return this.#reconnects.refused;
  }

  /** The coordinator's sync URL the current (or next) connection goes to (C6). */
  get coordinatorUrl(): string {
    return this.#reconnects.current;
  }

  /** True from `goOffline()` until `goOnline()`. */
  get paused(): boolean {
    return this.#paused;
  }

  start(): void {
    this.#started = true;
    if (this.#final !== undefined || this.#paused) return;
    if (this.#session !== undefined || this.#reconnects.armed) return;
    this.#connect();
  }

  /**
   * Closes the connection and stays offline until `goOnline()`. What is pending stays pending (the next
   * session pushes it after the coordinator's marker, S2), and `whenLive()` keeps waiting.
   */
  goOffline(): void {
    if (this.#final !== undefined || this.#paused) return;
    this.#paused = true;
    this.#end(1000, 'offline');
    this.#tell();
  }

  /** Connects at once after `goOffline()` (the backoff forgotten); does nothing otherwise. */
  goOnline(): void {
    if (this.#final !== undefined || !this.#paused) return;
    this.#paused = false;
    this.#reconnects.reset();
    if (this.#started) this.#connect();
    else this.#tell();
  }

  /** New pending mutations exist: push them if the connection is live. */
  pendingChanged(): void {
    const session = this.#session;
    if (session?.phase === 'live') this.#guard(session, () => this.#push(session));
  }

  /**
   * Resolves the next time the state changes to `live` (at once if it is); rejects once the client
   * failed (with its SyncFailure) or was closed.
   */
  whenLive(): Promise<void> {
    if (this.state === 'live') return Promise.resolve();
    if (this.#final !== undefined) return Promise.reject(this.#finalError());
    return this.#waits.whenLive();
  }

  /**
   * Asks the coordinator where its journal stands (S7): resolves with its history and the lsn of its
   * next frame, every frame below it sent to this client before the answer. Waits through offline;
   * rejects once the client failed (its SyncFailure) or was closed.
   */
  askHead(): Promise<HeadAnswer> {
    if (this.#final !== undefined) return Promise.reject(this.#finalError());
    const { id, answer } = this.#waits.ask();
    const session = this.#session;
    if (session !== undefined && session.phase !== 'connecting') {
      this.#guard(session, () => this.#send(session, { type: 'ask-head', id }));
    }
    return answer;
  }

  close(): void {
    if (this.#final === 'closed') return;
    this.#final = 'closed';
    this.#end(1000, 'closed');
    this.#tell();
  }

  #connect(): void {
    this.#reconnects.cancel();
    let socket: WebSocketLike;
    try {
      socket = this.#options.connect(this.#reconnects.current);
      // Node's `ws` hands each message as a Buffer over the bytes it read ('nodebuffer', its default):
      // kept, it spares a copy of every message into an ArrayBuffer of its own. Others give ArrayBuffers.
      if (socket.binaryType !== 'nodebuffer') socket.binaryType = 'arraybuffer';
    } catch (error) {
      this.#lastDrop = `could not connect: ${error instanceof Error ? error.message : String(error)}`;
      this.#reconnects.failed();
      this.#scheduleReconnect(0);
      this.#tell();
      return;
    }
    // Current before any of its events can be handled (C1).
    this.#session = openSession(socket, this.#options.heartbeatMs ?? 10_000, {
      isCurrent: (session) => session === this.#session,
      opened: (session) => this.#hello(session),
      receive: (session, data) => this.#receive(session, data),
      send: (session, message) => this.#send(session, message),
      abort: (session, error) => this.#abort(session, error),
      drop: (session, reason) => this.#drop(session, reason),
    });
    this.#tell();
  }

  #hello(session: Session): void {
    const { journalId, cursor } = this.#target.baseCursor();
    session.expectedLsn = cursor;
    this.#send(session, {
      type: 'hello',
      protocolVersion: PROTOCOL_VERSION,
      docId: this.#target.docId,
      timelineId: this.#target.timelineId,
      timelineSecret: this.#target.timelineSecret,
      journalId,
      cursor,
      reducerHash: this.#reducer.hash,
      token: this.#options.token ?? null,
    });
  }

  /** Runs `act` for `session` if it is current; what it throws ends the session (C4). */
  #guard(session: Session, act: () => void): void {
    if (session !== this.#session) return;
    try {
      act();
    } catch (error) {
      this.#abort(session, error);
    }
  }

  /** Awaits `work` for `session`, then throws StaleSession if the session ended meanwhile (C1). */
  async #await<T>(session: Session, work: Promise<T>): Promise<T> {
    const value = await work;
    if (session !== this.#session) throw new StaleSession();
    return value;
  }

  #abort(session: Session, error: unknown): void {
    if (session !== this.#session || error instanceof StaleSession) return;
    if (error instanceof SyncFailure) this.#fail(error);
    else if (error instanceof TandemError && (error.kind === 'storage-failed' || error.kind === 'closed')) {
      this.#fail(
        new SyncFailure(
          'document-failed',
          `the document cannot take the coordinator's frames: ${error.message}`,
        ),
      );
    } else this.#drop(session, error instanceof Error ? error.message : String(error));
  }

  async #receive(session: Session, data: unknown): Promise<void> {
    if (session !== this.#session) return;
    if (!(data instanceof ArrayBuffer) && !ArrayBuffer.isView(data)) throw new Error('a text message');
    const bytes =
      data instanceof ArrayBuffer
        ? new Uint8Array(data)
        : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const message: ServerMessage = decodeServerMessage(bytes);
    // Anything but more frames closes the burst left open for them (S1).
    if (session.burstOpen && message.type !== 'frames') this.#endBurst(session);
    switch (message.type) {
      case 'welcome': {
        clearTimeout(session.handshake);
        this.#reconnects.welcomed();
        const settled = await this.#reducer.settle(message.reducerHash, this.#reconnects.current, (work) =>
          this.#await(session, work),
        );
        const known = Math.max(this.#target.openedThrough(), this.#sentThrough);
        checkWelcomeMarker(message.appliedLsn, this.#target.takenLsn(), known); // S5, S6
        session.journalId = message.journalId;
        session.pushedLsn = message.appliedLsn;
        session.head = message.head;
        for (const id of this.#waits.unanswered()) this.#send(session, { type: 'ask-head', id });
        // Pages from another history (or none we can place) are replaced by the snapshot that comes first;
        // a client with no pages at all takes the frames from 0.
        const ours = this.#target.baseCursor();
        if (ours.journalId !== message.journalId && (ours.journalId !== null || ours.cursor > 0)) {
          session.expectedLsn = -1;
        }
        // A newer reducer: the document moves once its base caught up (S8, catch-up-upgrade.ts).
        const caughtUp = message.head === session.expectedLsn;
        if (typeof settled === 'object' && (await this.#upgrade.welcomed(session, settled, caughtUp))) return;
        if (caughtUp) this.#goLive(session);
        else this.#setPhase(session, 'catching-up');
        return;
      }
      case 'snapshot': {
        if (session.journalId === undefined) throw new Error('a snapshot before welcome');
        const image = await this.#await(session, this.#decoder.image(message.image));
        session.snapshot = image;
        session.burst = [];
        const pages = new Map(image.pages.map((page) => [page.pgno, page.data]));
        session.versions = new PageVersions((pgno) => pages.get(pgno));
        session.expectedLsn = image.frameCount;
        if (session.expectedLsn >= session.head) {
          // A snapshot without frames after it: the burst is the snapshot alone.
          this.#endBurst(session);
          if (session.phase !== 'live') this.#goLive(session);
        }
        return;
      }
      case 'frames': {
        const journalId = session.journalId;
        if (journalId === undefined) throw new Error('frames before welcome');
        for (const frame of message.frames) {
          if (frame.lsn !== session.expectedLsn) {
            throw new Error(`frame ${frame.lsn} arrived where ${session.expectedLsn} was expected`);
          }
          session.expectedLsn++;
        }
        session.versions ??= new PageVersions((pgno) => this.#target.basePage(pgno));
        const versions = session.versions;
        for (const frame of message.frames) {
          const decoded = this.#decoder.frame(versions, frame);
          session.burst.push(decoded instanceof Promise ? await this.#await(session, decoded) : decoded);
        }
        if (!message.more) {
          if (session.phase === 'live' && session.unread > 0) {
            // More is already waiting: frames among it join this burst (S1).
            session.burstOpen = true;
            return;
          }
          this.#endBurst(session);
          if (session.phase !== 'live' && session.expectedLsn >= session.head) this.#goLive(session);
        }
        return;
      }
      case 'push-result': {
        const index = session.answered++;
        session.inFlightBytes -= session.inFlight.shift() ?? 0;
        this.#target.pushed(message.appliedLsn, message.rejected);
        if (message.refused?.kind === 'gap' && index < session.rewoundBefore) {
          // Sent before the last rewind, behind the gap: what it held is being pushed again.
          this.#push(session);
        } else if (message.refused?.kind === 'gap' && message.refused.expectedLsn !== null) {
          const expected = message.refused.expectedLsn;
          const first = this.#target.pendingAfter(expected - 1)[0];
          if (first === undefined || first.lsn !== expected) {
            // The coordinator lost what it had taken from this timeline (its data was replaced under the
            // same history): resending cannot fill the gap, and looping would only flood it.
            throw new SyncFailure(
              'history-reset',
              `the coordinator expects lsn ${expected} of this timeline, which it had already taken: its history was reset`,
            );
          }
          session.pushedLsn = expected - 1;
          session.rewoundBefore = session.sent;
          this.#push(session);
        } else if (message.refused !== null) {
          throw new Error(`push refused: ${message.refused.message}`);
        } else {
          this.#push(session);
        }
        return;
      }
      case 'error': {
        const text = `coordinator error (${message.kind}): ${message.message}`;
        const terminal = TERMINAL_ERRORS.find((kind) => kind === message.kind);
        if (terminal !== undefined) throw new SyncFailure(terminal, text);
        // The coordinator asked for a pause (quota, internal): the next attempt waits at least that long.
        this.#drop(session, text, message.retryAfterMs ?? 0);
        return;
      }
      case 'ping':
        this.#send(session, { type: 'pong', id: message.id });
        return;
      case 'pong':
        return;
      case 'head':
        this.#waits.answer(message.id, { journalId: message.journalId, head: message.head });
        return;
      case 'redirect':
        this.#redirect(session, message.url, message.message);
        return;
    }
  }

  /** The coordinator sent this client to another one (C6): there at once, unless refused. */
  #redirect(session: Session, url: string, why: string): void {
    if (session !== this.#session) return;
    this.#end(1000, 'redirected');
    this.#lastDrop = this.#reconnects.redirect(url, why);
    this.#tell();
  }

  /** Hands the burst (and the snapshot it starts from, if any) to the document. */
  #endBurst(session: Session): void {
    const { snapshot, burst, journalId } = session;
    session.burstOpen = false;
    session.snapshot = undefined;
    session.burst = [];
    session.versions = undefined;
    this.#upgrade.rebase(session, { journalId: journalId!, frames: burst, ...(snapshot && { snapshot }) });
  }

  /** The document runs the coordinator's reducer now; this session's hello said the old one (S8). */
  #upgraded(session: Session, reducer: OfferedReducer): void {
    this.#reducer.moved(reducer);
    this.#reconnects.reset();
    this.#drop(session, `upgraded to the coordinator's reducer ${this.#reducer.hash}`, 0, false);
  }

  #goLive(session: Session): void {
    if (session !== this.#session) return;
    this.#reconnects.reset();
    this.#lastDrop = undefined;
    this.#setPhase(session, 'live');
    if (session === this.#session) this.#push(session);
  }

  #push(session: Session): void {
    // Nothing leaves under a reducer the coordinator does not run (S8).
    if (this.#reducer.waitingFor !== undefined) return;
    const pending = this.#target.pendingAfter(session.pushedLsn);
    for (let start = 0; ; ) {
      const push = nextPush(pending, start, session);
      if (push === undefined) return;
      const { end, bytes } = push;
      const batch = pending.slice(start, end);
      this.#send(session, {
        type: 'push',
        mutations: batch.map((m) => ({ lsn: m.lsn, timestamp: m.timestamp, payload: m.payload })),
      });
      session.sent++;
      session.inFlight.push(bytes);
      session.inFlightBytes += bytes;
      session.pushedLsn = batch.at(-1)!.lsn;
      this.#sentThrough = Math.max(this.#sentThrough, session.pushedLsn);
      start = end;
    }
  }

  /** Sends on `session`'s socket; a socket that is not open, or a send that throws, ends it (C2). */
  #send(session: Session, message: Parameters<typeof encodeMessage>[0]): void {
    if (session.socket.readyState !== OPEN) throw new Error('the socket is not open');
    session.socket.send(encodeMessage(message));
  }

  /** Ends the current session (if any) and closes its socket; arms nothing. */
  #end(code: number, reason: string): void {
    const session = this.#session;
    this.#session = undefined;
    this.#reconnects.cancel();
    session?.end(code, reason);
  }

  #fail(failure: SyncFailure): void {
    if (this.#final !== undefined) return;
    this.#failure = failure;
    this.#final = 'failed';
    this.#end(1000, 'failed');
    this.#tell();
    try {
      this.#target.syncFailed(failure);
    } catch (error) {
      reportLater(error);
    }
  }

  /** Ends `session` if it is current and arms the retry (C3), at the next coordinator unless `move` is false (C6). */
  #drop(session: Session, reason: string, minDelayMs = 0, move = true): void {
    if (session !== this.#session) return;
    this.#lastDrop = reason;
    this.#end(4000, reason);
    if (move) this.#reconnects.failed();
    this.#scheduleReconnect(minDelayMs);
    this.#tell();
  }

  /** Arms the retry (C3), unless the client is failed or closed. */
  #scheduleReconnect(minDelayMs: number): void {
    if (this.#final === undefined) this.#reconnects.arm(minDelayMs);
  }

  #setPhase(session: Session, phase: Session['phase']): void {
    if (session !== this.#session) return;
    session.phase = phase;
    this.#tell();
  }

  /** Tells a changed state to `onStateChange` and to the waiters, and the target that something may have changed. */
  #tell(): void {
    const state = this.state;
    if (state !== this.#told) {
      this.#told = state;
      if (state === 'live') this.#waits.live();
      if (this.#final !== undefined) this.#waits.fail(this.#finalError());
      try {
        this.#options.onStateChange?.(state);
      } catch (error) {
        reportLater(error);
      }
    }
    try {
      this.#target.syncChanged?.();
    } catch (error) {
      reportLater(error);
    }
  }

  #finalError(): Error {
    return this.#final === 'failed' && this.#failure !== undefined
      ? this.#failure
      : new TandemError('closed', 'the sync client was closed');
  }
}

/** A listener's own bug must not wedge the state machine, nor vanish: it surfaces as uncaught. */
function reportLater(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}
