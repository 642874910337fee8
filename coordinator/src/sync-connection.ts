// One client's WebSocket on the coordinator (sync protocol v3, runtime/README.md): hello, catch-up,
// then live frames and pushes for one document.
//
// States: awaiting-hello → joining → live ⇄ lagging → closed (from any state).
//
// Invariants:
// 1. Messages from the peer are handled one at a time in arrival order: a push pipelined behind a
//    hello waits for the hello's authorization.
// 2. Before hello only ping and pong are taken; hello is taken once. Any violation, and any message
//    that does not decode (text, garbage, wrong direction), sends one `error` and closes the socket;
//    nothing reaches the document, so it changes no state.
// 3. `#nextLsn` is the lsn of the next frame the peer must receive: a frame is queued only when it is
//    that one, so the peer sees welcome, snapshot (if any), then frames in lsn order without gaps.
// 4. The outbox is bounded: when the queued bytes pass OUTBOX_LIMIT the connection stops taking live
//    frames (lagging); once the outbox has drained it catches up again from `#nextLsn` (frames, or a
//    snapshot if they are gone), so a slow peer costs bounded memory and still converges.
// 5. A `push-result` reaches the peer after the frame it names: while lagging, results wait for the
//    catch-up that carries their frames.
// 6. A peer silent for `silenceMs` is closed.
// 7. The peer writes only on a timeline bound to its hello's secret (or not bound yet): a hello or push
//    on a timeline bound to another secret gets `timeline-taken` and a close, whatever the authorize hook
//    granted; the binding itself is the document's (AuthorityDocument invariant 10).
// 8. Messages queued in one synchronous run (a step's fan-out) reach the socket in one corked write at
//    the next microtask (one syscall, not one per message), in the order they were queued.
// 9. An `ask-head` is answered (`head`) only while live, with `#nextLsn`: every frame the document made
//    durable and fanned out so far was queued before the answer. Asked while joining or lagging, it
//    waits for the catch-up, whose head is at least the document's head when it was asked.
// 10. A push is taken only from a peer whose hello named the reducer the document runs (the one its
//    welcome names): a client still under another reducer gets `unexpected` and a close, its mutations
//    untouched (they are for the reducer it negotiates next, runtime sync-client.ts S8).
// 11. A hello for a document another coordinator owns (store/leases.ts) is answered with `redirect` to
//     the owner's public URL when the peer speaks v6 and the owner recorded one that is not this
//     process's own; otherwise (a v5 peer, no URL, or this very address under a former owner id, e.g. a
//     restart) with `document-unavailable` and the lease's remaining time. Never proxied: the owner
//     stays the only process writing the document, and a client pays one round trip per move.

import { createHash } from 'node:crypto';
import {
  type ClientMessage,
  decodeClientMessage,
  type ErrorMessage,
  encodeKeyedMessage,
  encodeMessage,
  type Hello,
  MIN_PROTOCOL_VERSION,
  PROTOCOL_VERSION,
  ProtocolError,
  type Push,
  protocolLimits,
  type ServerMessage,
  type WireFrame,
} from '@tandem/runtime';
import type { RawData, WebSocket } from 'ws';
import type { PushResult } from './authority/authority-document.js';
import type { CatchUpReply } from './catch-up.js';
import type { DocumentHub, HubMember } from './document-hub.js';

export interface ConnectionOptions {
  /** The hub of a document (created on first use). */
  readonly hub: (docId: string) => DocumentHub;
  readonly authorize: (docId: string, token: string | null, timelineId: string) => boolean | Promise<boolean>;
  /** The reducer every document of this coordinator runs (the current one: a deploy changes it). */
  readonly reducerHash: () => string;
  readonly silenceMs: number;
  /** Told once, when the socket closes: the close code and reason (sent or received). */
  readonly onClose: (connection: SyncConnection, code: number, reason: string) => void;
  /** Told of every error sent before a close (logs and metrics). */
  readonly onError?: (kind: ErrorKind, message: string) => void;
  /** Told when the welcome is queued (the coordinator lifts its pre-welcome byte budget). */
  readonly onWelcome?: () => void;
  /** This coordinator's public URL (`http://host:port`), never redirected to (invariant 11). */
  readonly publicUrl?: string;
  /** Told of every redirect sent (logs and metrics). */
  readonly onRedirect?: (url: string) => void;
}

/** The first protocol version that reads `redirect` (invariant 11). */
const REDIRECT_VERSION = 6;

/** WebSocket close codes: the standard ones, plus one for silence. */
export const CLOSE_CODES = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  policyViolation: 1008,
  internal: 1011,
  silent: 4000,
} as const;

type State = 'awaiting-hello' | 'joining' | 'live' | 'lagging' | 'closed';
export type ErrorKind = ErrorMessage['kind'];

/** Queued bytes past which live frames stop being queued (invariant 4). */
const OUTBOX_LIMIT = 8 * 1024 * 1024;
/** Bytes the socket may hold before the outbox stops handing it more. */
const SOCKET_HIGH_WATER = 1024 * 1024;
/** Bytes of frames per `frames` message in a catch-up burst (well under MAX_MESSAGE_BYTES). */
const BURST_BYTES = 8 * 1024 * 1024;
/** Payload bytes a connection may have waiting for their result; more is a quota error. */
const MAX_PUSH_BYTES_IN_FLIGHT = 16 * 1024 * 1024;
/** Pushes a connection may have waiting for their result; more is a quota error. */
const MAX_PUSHES_IN_FLIGHT = 64;
const RETRY_AFTER_MS = 1000;
/** `ask-head` messages one connection may have waiting for its catch-up; more is a quota error. */
const MAX_HEAD_ASKS_WAITING = 64;
/** How long an aborted socket stays open for its error to reach the peer. */
const ABORT_GRACE_MS = 500;
/** A refused document waits for an operator: clients need not come back often. */
const UNAVAILABLE_RETRY_MS = 30_000;

export class SyncConnection implements HubMember {
  readonly #socket: WebSocket;
  readonly #options: ConnectionOptions;
  #state: State = 'awaiting-hello';
  #hello: Hello | undefined;
  /** SHA-256 (hex) of the hello's timeline secret: the secret itself goes no further than this class. */
  #secretHash = '';
  #hub: DocumentHub | undefined;
  #journalId: string | undefined;
  #nextLsn = 0;
  #rejoining = false;
  #inbox: Promise<void> = Promise.resolve();
  #outbox: Uint8Array[] = [];
  #outboxBytes = 0;
  #held: Uint8Array[] = [];
  #flushQueued = false;
  #pushesInFlight = 0;
  /** Payload bytes of each push awaiting its result, oldest first (results come back in push order). */
  readonly #inFlightBytes: number[] = [];
  #inFlightTotal = 0;
  readonly #silence: NodeJS.Timeout;
  /** `ask-head` ids waiting for the connection to be live (invariant 9). */
  #headAsks: number[] = [];
  /** The reducer the welcome named: the only one pushes are taken under (invariant 10). */
  #reducerHash: string | undefined;

  constructor(socket: WebSocket, options: ConnectionOptions) {
    this.#socket = socket;
    this.#options = options;
    socket.on('message', (data, isBinary) => this.#receive(data, isBinary));
    socket.on('close', (code, reason) => this.#end(code, reason.toString()));
    // A socket error is followed by 'close'; listening keeps it from being thrown.
    socket.on('error', () => undefined);
    this.#silence = setTimeout(() => this.close(CLOSE_CODES.silent, 'silent too long'), options.silenceMs);
  }

  get state(): State {
    return this.#state;
  }

  /** The document named by the hello, once one was taken. */
  get docId(): string | undefined {
    return this.#hello?.docId;
  }

  /** Closes the socket (the peer hears `code`); the connection leaves its document. */
  close(code: number, reason: string): void {
    if (this.#state === 'closed') return;
    this.#end(code, reason);
    this.#socket.close(code, reason);
  }

  /**
   * Sends one error and drops the socket shortly after, without waiting for the closing handshake:
   * for a peer still sending what must not be read (an oversized message before its welcome), whose
   * socket the caller has stopped reading. The grace lets the error reach the peer before the drop.
   */
  abort(kind: ErrorKind, message: string): void {
    if (this.#state === 'closed') return;
    this.#fail(kind, message);
    setTimeout(() => this.#socket.terminate(), ABORT_GRACE_MS).unref();
  }

  caughtUp(reply: CatchUpReply): void {
    if (this.#state === 'closed') return;
    if (reply.timelineTaken) {
      this.#fail('timeline-taken', timelineTaken(this.#hello?.timelineId ?? ''));
      return;
    }
    if (this.#state === 'joining') {
      this.#options.onWelcome?.();
      this.#reducerHash = reply.reducerHash ?? this.#options.reducerHash();
      this.#enqueue({
        type: 'welcome',
        journalId: reply.journalId,
        head: reply.head,
        reducerHash: this.#reducerHash,
        appliedLsn: reply.appliedLsn,
      });
    }
    if (reply.snapshot !== undefined) this.#enqueue({ type: 'snapshot', image: reply.snapshot.bytes });
    const messages = bursts(reply.frames);
    messages.forEach((frames, i) => {
      this.#enqueue({ type: 'frames', frames, more: i < messages.length - 1 });
    });
    this.#journalId = reply.journalId;
    this.#nextLsn = reply.head;
    this.#state = 'live';
    this.#rejoining = false;
    for (const bytes of this.#held.splice(0)) this.#enqueueBytes(bytes);
    for (const id of this.#headAsks.splice(0)) this.#answerHead(id);
  }

  #answerHead(id: number): void {
    this.#enqueue({ type: 'head', id, journalId: this.#journalId ?? '', head: this.#nextLsn });
  }

  frame(frame: WireFrame, message: Uint8Array): void {
    if (this.#state !== 'live') return;
    if (frame.lsn !== this.#nextLsn || this.#outboxBytes > OUTBOX_LIMIT) {
      this.#state = 'lagging';
      this.#flush();
      return;
    }
    this.#enqueueBytes(message);
    this.#nextLsn = frame.lsn + 1;
  }

  pushed(result: PushResult, frameLsn: number | undefined): void {
    if (this.#state === 'closed') return;
    this.#pushesInFlight--;
    this.#inFlightTotal -= this.#inFlightBytes.shift() ?? 0;
    const message = pushResult(result, frameLsn);
    if (message.type === 'error') {
      this.#fail(message.kind, message.message);
      return;
    }
    const bytes = encodeMessage(message);
    if (this.#state === 'lagging') this.#held.push(bytes);
    else this.#enqueueBytes(bytes);
  }

  failed(message: string, kind?: string, retryAfterMs?: number, ownerUrl?: string): void {
    if (kind === 'document-owned') {
      this.moved(message, retryAfterMs ?? RETRY_AFTER_MS, ownerUrl);
      return;
    }
    // Neither heals by retrying at once: an operator recovers the files, or deploys a newer reducer.
    if (kind === 'storage-corrupt' || kind === 'reducer-too-old') {
      const docId = this.#hello?.docId ?? '';
      this.#fail(
        'document-unavailable',
        `document ${docId} is unavailable: ${message}`,
        UNAVAILABLE_RETRY_MS,
      );
      return;
    }
    this.#fail('internal', `the document failed: ${message}`, RETRY_AFTER_MS);
  }

  /**
   * The document is not served here (another coordinator owns it: store/leases.ts): the client is sent
   * to `ownerUrl` when it can follow there, else told to retry after `retryAfterMs` (invariant 11).
   */
  moved(message: string, retryAfterMs: number, ownerUrl?: string): void {
    if (this.#state === 'closed') return;
    const docId = this.#hello?.docId ?? '';
    const url = ownerUrl === this.#options.publicUrl ? undefined : syncUrlOf(ownerUrl);
    if (url === undefined || (this.#hello?.protocolVersion ?? 0) < REDIRECT_VERSION) {
      this.#fail('document-unavailable', `document ${docId} is not served here: ${message}`, retryAfterMs);
      return;
    }
    this.#outbox = [];
    this.#outboxBytes = 0;
    this.#options.onRedirect?.(url);
    const reason = `document ${docId} is served by ${ownerUrl}`.slice(0, protocolLimits.MAX_REASON_LENGTH);
    this.#socket.send(encodeMessage({ type: 'redirect', url, message: reason }), { binary: true });
    this.close(CLOSE_CODES.normal, 'redirect');
  }

  #receive(data: RawData, isBinary: boolean): void {
    if (this.#state === 'closed') return;
    this.#silence.refresh();
    if (!isBinary) {
      this.#fail('malformed', 'messages are binary (msgpack), not text');
      return;
    }
    let message: ClientMessage;
    try {
      message = decodeClientMessage(toBytes(data));
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      if (error.keyedHelloVersion !== undefined && this.#state === 'awaiting-hello') {
        // A client from before v4 reads only keyed messages: it hears why, and stops for good.
        this.#fail(
          'unsupported-version',
          `protocol version ${error.keyedHelloVersion} is not in ${MIN_PROTOCOL_VERSION}..${PROTOCOL_VERSION}`,
          null,
          encodeKeyedMessage,
        );
        return;
      }
      this.#fail('malformed', error.message);
      return;
    }
    this.#inbox = this.#inbox
      .then(() => this.#handle(message))
      .catch((error: unknown) => this.#fail('internal', describe(error), RETRY_AFTER_MS));
  }

  async #handle(message: ClientMessage): Promise<void> {
    if (this.#state === 'closed') return;
    switch (message.type) {
      case 'ping':
        this.#enqueue({ type: 'pong', id: message.id });
        return;
      case 'pong':
        return;
      case 'hello':
        return this.#onHello(message);
      case 'push':
        return this.#onPush(message);
      case 'ask-head':
        if (this.#hello === undefined) this.#fail('unexpected', 'ask-head before hello');
        else if (this.#state === 'live') this.#answerHead(message.id);
        else if (this.#headAsks.length >= MAX_HEAD_ASKS_WAITING) {
          this.#fail(
            'quota',
            `more than ${MAX_HEAD_ASKS_WAITING} ask-head waiting for the catch-up`,
            RETRY_AFTER_MS,
          );
        } else this.#headAsks.push(message.id);
        return;
    }
  }

  async #onHello(hello: Hello): Promise<void> {
    if (this.#state !== 'awaiting-hello') {
      this.#fail('unexpected', 'hello was already received on this connection');
      return;
    }
    if (hello.protocolVersion < MIN_PROTOCOL_VERSION || hello.protocolVersion > PROTOCOL_VERSION) {
      this.#fail(
        'unsupported-version',
        `protocol version ${hello.protocolVersion} is not in ${MIN_PROTOCOL_VERSION}..${PROTOCOL_VERSION}`,
      );
      return;
    }
    if (!(await this.#authorized(hello.docId, hello.token, hello.timelineId))) return;
    this.#hello = hello;
    this.#secretHash = createHash('sha256').update(hello.timelineSecret).digest('hex');
    this.#state = 'joining';
    this.#hub = this.#options.hub(hello.docId);
    this.#hub.join(this, {
      timelineId: hello.timelineId,
      journalId: hello.journalId,
      cursor: hello.cursor,
      secretHash: this.#secretHash,
    });
  }

  async #onPush(push: Push): Promise<void> {
    const hello = this.#hello;
    if (hello === undefined || this.#hub === undefined) {
      this.#fail('unexpected', 'a push before hello');
      return;
    }
    if (!(await this.#authorized(hello.docId, hello.token, hello.timelineId))) return;
    const reducerHash = this.#reducerHash ?? this.#options.reducerHash();
    if (hello.reducerHash !== reducerHash) {
      this.#fail(
        'unexpected',
        `a push under reducer ${hello.reducerHash}, but document ${hello.docId} runs reducer ${reducerHash}: load it (GET /reducers/${reducerHash}.wasm) and say it in hello`,
      );
      return;
    }
    if (this.#pushesInFlight >= MAX_PUSHES_IN_FLIGHT) {
      this.#fail('quota', `more than ${MAX_PUSHES_IN_FLIGHT} pushes awaiting their result`, RETRY_AFTER_MS);
      return;
    }
    const size = push.mutations.reduce((n, m) => n + m.payload.length, 0);
    if (this.#inFlightTotal + size > MAX_PUSH_BYTES_IN_FLIGHT) {
      this.#fail(
        'quota',
        `more than ${MAX_PUSH_BYTES_IN_FLIGHT} bytes of pushes awaiting their result`,
        RETRY_AFTER_MS,
      );
      return;
    }
    this.#inFlightBytes.push(size);
    this.#inFlightTotal += size;
    this.#pushesInFlight++;
    const { timelineId } = hello;
    this.#hub.push(this, {
      timelineId,
      secretHash: this.#secretHash,
      mutations: push.mutations.map((m) => ({
        timelineId,
        lsn: m.lsn,
        timestamp: m.timestamp,
        payload: m.payload,
      })),
    });
  }

  /** Asks the authorize hook; a refusal closes the connection. */
  async #authorized(docId: string, token: string | null, timelineId: string): Promise<boolean> {
    const granted = await this.#options.authorize(docId, token, timelineId);
    if (this.#state === 'closed') return false;
    if (!granted) this.#fail('unauthorized', `the token does not grant document ${docId}`);
    return granted;
  }

  #enqueue(message: ServerMessage): void {
    this.#enqueueBytes(encodeMessage(message));
  }

  #enqueueBytes(bytes: Uint8Array): void {
    this.#outbox.push(bytes);
    this.#outboxBytes += bytes.length;
    // What a step queues (a frame, then results) leaves in one write: flushed once the step's
    // synchronous fan-out is over (invariant 8).
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    queueMicrotask(this.#flush);
  }

  /** Hands queued messages to the socket while it is not holding too much (invariant 4). */
  #flush = (): void => {
    this.#flushQueued = false;
    if (this.#state === 'closed') return;
    const raw = tcpOf(this.#socket);
    raw?.cork();
    try {
      while (this.#outbox.length > 0 && this.#socket.bufferedAmount < SOCKET_HIGH_WATER) {
        const bytes = this.#outbox.shift()!;
        this.#outboxBytes -= bytes.length;
        this.#socket.send(bytes, { binary: true }, (error) => {
          if (error === undefined || error === null) this.#flush();
        });
      }
    } finally {
      raw?.uncork();
    }
    if (this.#outbox.length === 0 && this.#state === 'lagging' && !this.#rejoining && this.#hub) {
      this.#rejoining = true;
      this.#hub.join(this, {
        timelineId: this.#hello?.timelineId ?? '',
        journalId: this.#journalId ?? null,
        cursor: this.#nextLsn,
        secretHash: this.#secretHash,
      });
    }
  };

  /** Sends one error ahead of anything queued, and closes (invariant 2). */
  #fail(
    kind: ErrorKind,
    message: string,
    retryAfterMs: number | null = null,
    encode: (message: ErrorMessage) => Uint8Array = encodeMessage,
  ): void {
    if (this.#state === 'closed') return;
    const error: ErrorMessage = {
      type: 'error',
      kind,
      message: message.slice(0, protocolLimits.MAX_REASON_LENGTH),
      retryAfterMs,
    };
    this.#outbox = [];
    this.#outboxBytes = 0;
    this.#options.onError?.(kind, error.message);
    this.#socket.send(encode(error), { binary: true });
    const serverSide = kind === 'internal' || kind === 'document-unavailable';
    this.close(serverSide ? CLOSE_CODES.internal : CLOSE_CODES.policyViolation, kind);
  }

  #end(code: number, reason: string): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    clearTimeout(this.#silence);
    this.#outbox = [];
    this.#held = [];
    this.#headAsks = [];
    this.#hub?.leave(this);
    this.#options.onClose(this, code, reason);
  }
}

/** The sync endpoint of a coordinator's public URL (`http://h:p` → `ws://h:p/sync`); undefined for none. */
export function syncUrlOf(publicUrl: string | undefined): string | undefined {
  if (publicUrl === undefined || !URL.canParse(publicUrl)) return undefined;
  const url = new URL(publicUrl);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/sync`;
  url.search = '';
  url.hash = '';
  const text = url.toString();
  return text.length <= protocolLimits.MAX_URL_LENGTH ? text : undefined;
}

/** Catch-up frames as `frames` messages: at most MAX_FRAMES_PER_MESSAGE and about BURST_BYTES each. */
function bursts(frames: readonly WireFrame[]): WireFrame[][] {
  const result: WireFrame[][] = [];
  let current: WireFrame[] = [];
  let bytes = 0;
  for (const frame of frames) {
    const size = frame.pages.reduce((n, p) => n + p.delta.length + 16, 32);
    if (
      current.length > 0 &&
      (current.length === protocolLimits.MAX_FRAMES_PER_MESSAGE || bytes + size > BURST_BYTES)
    ) {
      result.push(current);
      current = [];
      bytes = 0;
    }
    current.push(frame);
    bytes += size;
  }
  if (current.length > 0) result.push(current);
  return result;
}

/** The answer to a push: its push-result, or the error that ends the connection. */
function pushResult(result: PushResult, frameLsn: number | undefined): ServerMessage {
  const reason = (text: string) => text.slice(0, protocolLimits.MAX_REASON_LENGTH);
  if (result.status === 'refused') {
    const { kind } = result;
    if (kind === 'timeline-taken') {
      return {
        type: 'error',
        kind,
        message: reason(timelineTaken(result.timelineId)),
        retryAfterMs: null,
      };
    }
    return {
      type: 'push-result',
      appliedLsn: result.appliedLsn,
      frameLsn: null,
      rejected: [],
      refused: {
        kind,
        message: reason(result.message),
        expectedLsn: result.expectedLsn ?? null,
      },
    };
  }
  const taken = result.outcomes.length > 0 && frameLsn !== undefined;
  return {
    type: 'push-result',
    appliedLsn: result.appliedLsn,
    frameLsn: taken ? frameLsn : null,
    rejected: result.outcomes.flatMap((o) => (o.ok ? [] : [{ lsn: o.lsn, reason: reason(o.reason) }])),
    refused: null,
  };
}

function timelineTaken(timelineId: string): string {
  return `timeline ${timelineId} belongs to another client: this client's timeline secret differs, so it can never write on it`;
}

/**
 * The TCP socket under a `ws` WebSocket, to cork around a run of sends (ws corks each message alone).
 * `_socket` is ws's; without it sends just go out one by one.
 */
function tcpOf(socket: WebSocket): { cork(): void; uncork(): void } | undefined {
  const raw = (socket as unknown as { _socket?: { cork?: unknown; uncork?: unknown } })._socket;
  return typeof raw?.cork === 'function' && typeof raw.uncork === 'function'
    ? (raw as { cork(): void; uncork(): void })
    : undefined;
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
