// A minimal sync-protocol client for the coordinator's tests: it speaks v2 over `ws`, rebuilds the
// document's pages from what it receives (snapshot, then frames, each page decoded against the one it
// holds), and records every message so a test
// can make claims about order. Not a client library: no rebase, no retry.
import {
  type ClientMessage,
  decodePageImage,
  decodeServerMessage,
  encodeMessage,
  type Hello,
  PageStore,
  PageVersions,
  PROTOCOL_VERSION,
  type ServerMessage,
} from '@tandem/runtime';
import { WebSocket } from 'ws';

export interface Closed {
  readonly code: number;
  readonly reason: string;
}

/** Generous: a document's first open instantiates its reducer, seconds on a loaded machine. */
const WAIT_MS = 20_000;

export class TestSyncClient {
  readonly socket: WebSocket;
  /** Every message received, in order. */
  readonly received: ServerMessage[] = [];
  /**
   * How long a wait lasts without a message arriving or a frame applied: a test whose coordinator
   * computes a large catch-up in one call before its first byte sets it above that computation's time.
   */
  stallMs = WAIT_MS;
  /** The encoded size of each message received, by the index in `received`. */
  readonly sizes: number[] = [];
  /** Lsns of the frames applied, in order. */
  readonly frameLsns: number[] = [];
  /** What broke the protocol's promises (gaps, frames before a base); a correct run leaves it empty. */
  readonly violations: string[] = [];
  readonly closed: Promise<Closed>;
  store = new PageStore();
  /** The next frame lsn the pages need. */
  cursor = 0;
  journalId: string | null = null;
  snapshots = 0;
  #applying: Promise<void> = Promise.resolve();
  #waiters: (() => void)[] = [];

  private constructor(socket: WebSocket) {
    this.socket = socket;
    this.closed = new Promise((resolve) => {
      socket.on('close', (code, reason) => {
        // Messages received before the close are applied first.
        void this.#applying.then(() => {
          resolve({ code, reason: reason.toString() });
          this.#wake();
        });
      });
    });
    socket.on('error', () => undefined);
    socket.on('message', (data: Buffer) => {
      let message: ServerMessage;
      try {
        message = decodeServerMessage(new Uint8Array(data));
      } catch (error) {
        this.violations.push(`undecodable message: ${String(error)}`);
        return;
      }
      this.#applying = this.#applying.then(() => this.#apply(message, data.length));
      this.#wake();
    });
  }

  /** Opens a socket to `url`'s /sync (no hello sent). */
  static open(url: string): Promise<TestSyncClient> {
    const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/sync`);
    const client = new TestSyncClient(socket);
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(client));
      socket.once('error', reject);
    });
  }

  /** Opens a socket and says hello for `docId` (the rest defaults to a fresh client). */
  static async connect(url: string, hello: Partial<Hello> & Pick<Hello, 'docId'>): Promise<TestSyncClient> {
    // The coordinator takes pushes only under the reducer it runs: a test client says that one.
    const reducerHash = hello.reducerHash ?? (await currentReducerHash(url));
    const client = await TestSyncClient.open(url);
    client.journalId = hello.journalId ?? null;
    client.cursor = hello.cursor ?? 0;
    client.send({
      type: 'hello',
      protocolVersion: PROTOCOL_VERSION,
      timelineId: 'timeline',
      // One secret for every test client unless a test picks its own: clients sharing a timeline id
      // then share it too (a test of the binding gives each client its own).
      timelineSecret: '5'.repeat(64),
      journalId: null,
      cursor: 0,
      token: null,
      ...hello,
      reducerHash,
    });
    return client;
  }

  send(message: ClientMessage): void {
    this.socket.send(encodeMessage(message));
  }

  /** The next received message (from `from` on) that `match` accepts, waiting for it if needed. */
  async next<T extends ServerMessage['type']>(
    type: T,
    match: (m: Extract<ServerMessage, { type: T }>) => boolean = () => true,
    from = 0,
  ): Promise<Extract<ServerMessage, { type: T }>> {
    const found = await this.#until(() =>
      this.received
        .slice(from)
        .find((m): m is Extract<ServerMessage, { type: T }> => m.type === type && match(m as never)),
    );
    if (found === undefined) throw new Error(`no ${type} message, and none at all for ${this.stallMs} ms`);
    return found;
  }

  /** Resolves once the pages have reached `lsn` (frames before it applied). */
  async reach(lsn: number): Promise<void> {
    const reached = await this.#until(() => (this.cursor >= lsn ? true : undefined));
    if (reached === undefined)
      throw new Error(`stuck at ${this.cursor}, waiting for ${lsn}, no message for ${this.stallMs} ms`);
  }

  hash(): Promise<string> {
    return this.store.hash();
  }

  close(): Promise<Closed> {
    this.socket.close();
    return this.closed;
  }

  async #apply(message: ServerMessage, size: number): Promise<void> {
    if (message.type === 'welcome') this.journalId = message.journalId;
    if (message.type === 'snapshot') {
      const image = await decodePageImage(message.image);
      this.store = new PageStore();
      this.store.applyFrame(image);
      this.cursor = image.frameCount;
      this.snapshots++;
    }
    if (message.type === 'frames') {
      for (const frame of message.frames) {
        if (frame.lsn !== this.cursor) this.violations.push(`frame ${frame.lsn} while at ${this.cursor}`);
        const store = this.store;
        this.store.applyFrame(await new PageVersions((pgno) => store.readBase(pgno)).decode(frame));
        this.frameLsns.push(frame.lsn);
        this.cursor = frame.lsn + 1;
        // Progress: a catch-up of thousands of frames in few messages takes long to apply on a loaded
        // machine, and the waits must not take that for a stall.
        this.#wake();
      }
    }
    this.received.push(message);
    this.sizes.push(size);
    this.#wake();
  }

  #wake(): void {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }

  /**
   * Waits until `probe` answers, giving up only once `stallMs` pass without a message arriving or a frame
   * applied: a stream that is slow (a catch-up of megabytes on a loaded machine) is waited for, one
   * that stalled is not.
   */
  async #until<T>(probe: () => T | undefined): Promise<T | undefined> {
    let deadline = Date.now() + this.stallMs;
    for (;;) {
      const value = probe();
      if (value !== undefined) return value;
      const left = deadline - Date.now();
      if (left <= 0 || this.socket.readyState === this.socket.CLOSED) return probe();
      const heard = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      if (heard) deadline = Date.now() + this.stallMs;
    }
  }
}

/** The SHA-256 of the reducer the coordinator at `url` runs now (`GET /reducers/current`). */
async function currentReducerHash(url: string): Promise<string> {
  const body = (await (await fetch(`${url}/reducers/current`)).json()) as { sha256: string };
  return body.sha256;
}
