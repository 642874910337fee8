// A client's connection to the coordinator for one document (protocol v3, runtime/README.md): it
// catches the base up, pushes the timeline's pending mutations and hands every burst of frames to the
// document to rebase on. Transport-agnostic: it speaks to anything shaped like a WHATWG WebSocket
// (the browser's, or `ws` in Node).
//
// States: connecting → catching-up (welcome received, frames of the catch-up still coming) → live;
// any close → offline → (after a backoff with jitter) connecting; `close()` → closed, for good; an
// error retrying cannot cure (unauthorized, a timeline bound to another client's secret, another
// reducer, a protocol the coordinator does not speak, a timeline the coordinator cannot continue) →
// failed, for good, with `error` saying why.
//
// Invariants:
// 1. Frames reach the document in lsn order without gaps, one burst at a time (`more: false` ends
//    one); a message out of order makes the client drop the connection and catch up again.
// 2. Every pending mutation is pushed once per connection, in lsn order, starting after the
//    coordinator's marker for this timeline (so nothing is skipped and a gap is never created); a
//    `gap` refusal rewinds to the lsn the coordinator expects.
// 3. Nothing the coordinator sends can throw out of a socket callback: a malformed message closes
//    the connection.
// 4. A frame's pages arrive as deltas against the previous version of each page (page-delta.ts): the
//    burst's snapshot if it has one, else the document's base, overlaid with the burst's earlier frames.
//    Frames are decoded as they arrive; the document only ever sees full pages.
import type { Frame } from '../frame.js';
import { decodeServerMessage, encodeMessage, type ServerMessage } from '../protocol/codec.js';
import { MAX_PAYLOAD_BYTES, MAX_PUSH_MUTATIONS } from '../protocol/limits.js';
import { PageVersions } from '../protocol/page-delta.js';
import { PROTOCOL_VERSION } from '../protocol/version.js';
import type { MutationEnvelope } from '../reducer/host.js';
import { decodePageImage, type PageImage } from '../storage/page-image.js';

/** The part of the WHATWG WebSocket the client uses. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'close' | 'error', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
}

export type SyncState = 'connecting' | 'catching-up' | 'live' | 'offline' | 'failed' | 'closed';

/** A failure that retrying cannot cure: the client stops and reports it. */
export class SyncFailure extends Error {
  override readonly name = 'SyncFailure';
}

const TERMINAL_ERRORS = new Set(['unauthorized', 'timeline-taken', 'unsupported-version', 'malformed']);

/** What the client needs from the document it syncs. */
export interface SyncTarget {
  readonly docId: string;
  readonly timelineId: string;
  /** Proves the timeline is this client's (storage/timeline-secret.ts); sent with every hello. */
  readonly timelineSecret: string;
  /** The history the base comes from (null before the first sync) and the lsn of the next base frame. */
  baseCursor(): { readonly journalId: string | null; readonly cursor: number };
  /** The base's committed page at `pgno` (what the next frame's deltas are against), if it holds one. */
  basePage(pgno: number): Uint8Array | undefined;
  /** Pending mutations with lsn > `lsn`, in lsn order. */
  pendingAfter(lsn: number): readonly MutationEnvelope[];
  /** A burst arrived: replace the base with `snapshot` (if any), apply `frames`, rebase the overlay. */
  rebase(update: {
    readonly journalId: string;
    readonly snapshot?: PageImage;
    readonly frames: readonly Frame[];
  }): void;
  /** The coordinator took this timeline's mutations up to `appliedLsn`, rejecting `rejected`. */
  pushed(appliedLsn: number, rejected: readonly { readonly lsn: number; readonly reason: string }[]): void;
}

export interface SyncOptions {
  /** The coordinator's sync endpoint, e.g. `ws://localhost:8787/sync`. */
  readonly url: string;
  readonly connect: (url: string) => WebSocketLike;
  readonly reducerHash: string;
  readonly token?: string;
  /** First reconnect delay; doubles up to `maxBackoffMs`, with jitter. */
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
  /** A ping this often; a connection silent for 3 intervals is dropped. */
  readonly heartbeatMs?: number;
  readonly onStateChange?: (state: SyncState) => void;
  /** Seeds the jitter (tests); Math.random by default. */
  readonly random?: () => number;
}

const OPEN = 1;
/** Pushes stop filling a message past this many payload bytes. */
const PUSH_BYTES = Math.min(MAX_PAYLOAD_BYTES, 512 * 1024);

export class SyncClient {
  readonly #target: SyncTarget;
  readonly #options: SyncOptions;
  #state: SyncState = 'offline';
  #socket: WebSocketLike | undefined;
  #journalId: string | undefined;
  #snapshot: PageImage | undefined;
  #burst: Frame[] = [];
  /** The pages the burst's next frame is encoded against (invariant 4); reset with the burst. */
  #versions: PageVersions | undefined;
  #expectedLsn = 0;
  /** The coordinator's next frame lsn when it welcomed us: catch-up ends there. */
  #head = 0;
  /** The last lsn pushed on this connection (or known taken by the coordinator). */
  #pushedLsn = -1;
  #attempt = 0;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #lastHeard = 0;
  #pingId = 0;
  #decoding: Promise<void> = Promise.resolve();
  #waiters: (() => void)[] = [];
  #failure: SyncFailure | undefined;
  #handshake: ReturnType<typeof setTimeout> | undefined;

  constructor(target: SyncTarget, options: SyncOptions) {
    this.#target = target;
    this.#options = options;
  }

  get state(): SyncState {
    return this.#state;
  }

  /** Why the client failed (state `failed`). */
  get error(): SyncFailure | undefined {
    return this.#failure;
  }

  start(): void {
    if (this.#state === 'closed' || this.#socket !== undefined) return;
    this.#connect();
  }

  /** New pending mutations exist: push them if the connection is live. */
  pendingChanged(): void {
    if (this.#state === 'live') this.#push();
  }

  /** Resolves the next time the state changes to `live` (at once if it is). */
  whenLive(): Promise<void> {
    if (this.#state === 'live') return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  close(): void {
    this.#setState('closed');
    this.#state = 'closed';
    clearTimeout(this.#retry);
    clearTimeout(this.#handshake);
    clearInterval(this.#heartbeat);
    this.#socket?.close(1000, 'closed');
    this.#socket = undefined;
  }

  #connect(): void {
    this.#setState('connecting');
    let socket: WebSocketLike;
    try {
      socket = this.#options.connect(this.#options.url);
    } catch {
      this.#scheduleReconnect();
      return;
    }
    this.#socket = socket;
    socket.binaryType = 'arraybuffer';
    socket.addEventListener('open', () => {
      if (socket !== this.#socket) return;
      this.#lastHeard = Date.now();
      const { journalId, cursor } = this.#target.baseCursor();
      this.#expectedLsn = cursor;
      this.#send({
        type: 'hello',
        protocolVersion: PROTOCOL_VERSION,
        docId: this.#target.docId,
        timelineId: this.#target.timelineId,
        timelineSecret: this.#target.timelineSecret,
        journalId,
        cursor,
        reducerHash: this.#options.reducerHash,
        token: this.#options.token ?? null,
      });
      const interval = this.#options.heartbeatMs ?? 10_000;
      clearTimeout(this.#handshake);
      this.#handshake = setTimeout(() => {
        if (socket === this.#socket) this.#drop('no welcome in time');
      }, 3 * interval);
      clearInterval(this.#heartbeat);
      this.#heartbeat = setInterval(() => {
        if (Date.now() - this.#lastHeard > 3 * interval) this.#drop('heartbeat timed out');
        else this.#send({ type: 'ping', id: this.#pingId++ % 2 ** 31 });
      }, interval);
    });
    socket.addEventListener('message', (event) => {
      if (socket !== this.#socket) return;
      this.#lastHeard = Date.now();
      const data = event.data;
      if (!(data instanceof ArrayBuffer) && !ArrayBuffer.isView(data)) return this.#drop('a text message');
      const bytes =
        data instanceof ArrayBuffer
          ? new Uint8Array(data)
          : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      // Snapshots decode asynchronously (decompression): messages are handled strictly in arrival order.
      this.#decoding = this.#decoding
        .then(() => {
          // A message of a socket dropped while earlier ones were decoding belongs to a dead session.
          return socket === this.#socket ? this.#receive(bytes) : undefined;
        })
        .catch((error: unknown) => {
          if (error instanceof SyncFailure) this.#fail(error);
          else this.#drop(error instanceof Error ? error.message : String(error));
        });
    });
    const closed = (): void => {
      if (socket !== this.#socket) return;
      this.#socket = undefined;
      clearInterval(this.#heartbeat);
      if (this.#state !== 'closed') this.#scheduleReconnect();
    };
    socket.addEventListener('close', closed);
    socket.addEventListener('error', closed);
  }

  async #receive(bytes: Uint8Array): Promise<void> {
    const message: ServerMessage = decodeServerMessage(bytes);
    switch (message.type) {
      case 'welcome': {
        clearTimeout(this.#handshake);
        if (message.reducerHash !== this.#options.reducerHash) {
          throw new SyncFailure(
            `the coordinator runs reducer ${message.reducerHash}, this client ${this.#options.reducerHash}: load the coordinator's reducer`,
          );
        }
        this.#journalId = message.journalId;
        this.#pushedLsn = message.appliedLsn;
        this.#attempt = 0;
        this.#burst = [];
        this.#versions = undefined;
        this.#snapshot = undefined;
        this.#head = message.head;
        // Pages from another history (or none we can place) are replaced by the snapshot that comes first;
        // a client with no pages at all takes the frames from 0.
        const ours = this.#target.baseCursor();
        if (ours.journalId !== message.journalId && (ours.journalId !== null || ours.cursor > 0)) {
          this.#expectedLsn = -1;
        }
        if (message.head === this.#expectedLsn) this.#goLive();
        else this.#setState('catching-up');
        return;
      }
      case 'snapshot': {
        const image = await decodePageImage(message.image);
        this.#snapshot = image;
        this.#burst = [];
        const pages = new Map(image.pages.map((page) => [page.pgno, page.data]));
        this.#versions = new PageVersions((pgno) => pages.get(pgno));
        this.#expectedLsn = image.frameCount;
        if (this.#expectedLsn >= this.#head) this.#goLive();
        return;
      }
      case 'frames': {
        if (this.#journalId === undefined) throw new Error('frames before welcome');
        for (const frame of message.frames) {
          if (frame.lsn !== this.#expectedLsn) {
            throw new Error(`frame ${frame.lsn} arrived where ${this.#expectedLsn} was expected`);
          }
          this.#expectedLsn++;
        }
        this.#versions ??= new PageVersions((pgno) => this.#target.basePage(pgno));
        for (const frame of message.frames) this.#burst.push(await this.#versions.decode(frame));
        if (!message.more) {
          const burst = this.#burst;
          this.#burst = [];
          this.#versions = undefined;
          const snapshot = this.#snapshot;
          this.#snapshot = undefined;
          this.#target.rebase({ journalId: this.#journalId, frames: burst, ...(snapshot && { snapshot }) });
          if (this.#state !== 'live' && this.#expectedLsn >= this.#head) this.#goLive();
        }
        return;
      }
      case 'push-result':
        this.#target.pushed(message.appliedLsn, message.rejected);
        if (message.refused?.kind === 'gap' && message.refused.expectedLsn !== null) {
          const expected = message.refused.expectedLsn;
          const first = this.#target.pendingAfter(expected - 1)[0];
          if (first === undefined || first.lsn !== expected) {
            // The coordinator lost what it had taken from this timeline (its data was replaced under the
            // same history): resending cannot fill the gap, and looping would only flood it.
            throw new SyncFailure(
              `the coordinator expects lsn ${expected} of this timeline, which it had already taken: its history was reset`,
            );
          }
          this.#pushedLsn = expected - 1;
          this.#push();
        } else if (message.refused !== null) {
          throw new Error(`push refused: ${message.refused.message}`);
        }
        return;
      case 'error': {
        const text = `coordinator error (${message.kind}): ${message.message}`;
        throw TERMINAL_ERRORS.has(message.kind) ? new SyncFailure(text) : new Error(text);
      }
      case 'ping':
        this.#send({ type: 'pong', id: message.id });
        return;
      case 'pong':
        return;
    }
  }

  #goLive(): void {
    if (this.#snapshot !== undefined) {
      // A snapshot without frames after it: the burst is the snapshot alone.
      const snapshot = this.#snapshot;
      this.#snapshot = undefined;
      this.#versions = undefined;
      this.#target.rebase({ journalId: this.#journalId!, frames: [], snapshot });
    }
    this.#setState('live');
    this.#push();
  }

  #push(): void {
    const pending = this.#target.pendingAfter(this.#pushedLsn);
    let start = 0;
    while (start < pending.length) {
      let bytes = 0;
      let end = start;
      while (end < pending.length && end - start < MAX_PUSH_MUTATIONS) {
        bytes += pending[end]!.payload.length;
        if (end > start && bytes > PUSH_BYTES) break;
        end++;
      }
      const batch = pending.slice(start, end);
      this.#send({
        type: 'push',
        mutations: batch.map((m) => ({ lsn: m.lsn, timestamp: m.timestamp, payload: m.payload })),
      });
      this.#pushedLsn = batch.at(-1)!.lsn;
      start = end;
    }
  }

  #send(message: Parameters<typeof encodeMessage>[0]): void {
    const socket = this.#socket;
    if (socket === undefined || socket.readyState !== OPEN) return;
    socket.send(encodeMessage(message));
  }

  #fail(failure: SyncFailure): void {
    this.#failure = failure;
    const socket = this.#socket;
    this.#socket = undefined;
    clearInterval(this.#heartbeat);
    clearTimeout(this.#retry);
    clearTimeout(this.#handshake);
    socket?.close(1000, 'failed');
    this.#setState('failed');
  }

  #drop(reason: string): void {
    const socket = this.#socket;
    if (socket === undefined) return;
    this.#socket = undefined;
    clearInterval(this.#heartbeat);
    socket.close(4000, reason.slice(0, 120));
    if (this.#state !== 'closed') this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#state === 'failed' || this.#state === 'closed') return;
    this.#setState('offline');
    const base = this.#options.backoffMs ?? 250;
    const max = this.#options.maxBackoffMs ?? 30_000;
    const delay =
      Math.min(max, base * 2 ** this.#attempt++) * (0.5 + (this.#options.random ?? Math.random)() / 2);
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => {
      if (this.#state === 'offline') this.#connect();
    }, delay);
  }

  #setState(state: SyncState): void {
    if (this.#state === state || this.#state === 'closed' || this.#state === 'failed') return;
    this.#state = state;
    this.#options.onStateChange?.(state);
    if (state === 'live') for (const resolve of this.#waiters.splice(0)) resolve();
  }
}

/** What a host's `openDocument` takes to sync the document with a coordinator. */
export interface CoordinatorOptions {
  /** The coordinator's sync endpoint (`ws://host:port/sync`): the document syncs with it, offline in between. */
  readonly coordinatorUrl?: string;
  /** Sent with `hello`; the coordinator's auth hook checks it per document. */
  readonly token?: string;
  /** Reconnect backoff and heartbeat (tests), and sync state changes. */
  readonly sync?: Pick<SyncOptions, 'backoffMs' | 'heartbeatMs' | 'onStateChange'>;
}

/** Starts syncing `document` when `options` name a coordinator, over the host's WebSocket (`connect`). */
export function syncWithCoordinator(
  document: SyncTarget & { attachSync(client: SyncClient): void },
  reducerHash: string,
  options: CoordinatorOptions,
  connect: SyncOptions['connect'],
): void {
  const { coordinatorUrl, token, sync } = options;
  if (coordinatorUrl === undefined) return;
  document.attachSync(
    new SyncClient(document, {
      url: coordinatorUrl,
      connect,
      reducerHash,
      ...(token !== undefined && { token }),
      ...sync,
    }),
  );
}
