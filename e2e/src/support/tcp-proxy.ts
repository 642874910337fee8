// A TCP proxy on loopback that can cut its connections: the chaos test puts one between each client
// process and the coordinator, so a socket drop is a real one (both peers see their connection end).
//
// Invariants:
// 1. A connection is counted open only while both of its sockets are; when either side ends or fails,
//    the other is destroyed too, so no half-open pair outlives a drop or a dead upstream.
// 2. An armed cut (`cutAfterMessage`) lets the client receive one whole WebSocket message from the
//    server (not the first of its connection: the greeting), then closes its side at once: the close
//    reaches the client while it handles that message.
// 3. While held (`hold`), what the server sends waits in the proxy, split into whole WebSocket messages
//    and kept in order; `release` lets them through one at a time, or all of them and ends the hold.
//    What the client sends is never held.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { WsFrameScanner } from './ws-frame-scanner.js';

interface Pair {
  readonly downstream: Socket;
  readonly upstream: Socket;
  upstreamConnected: boolean;
  /** Whole server messages held back (invariant 3), oldest first. */
  readonly waiting: Buffer[];
  /** The start of the next server message, held back with it. */
  partial: Buffer[];
}

/**
 * Smaller server messages are pings, pongs and push results (under 20 bytes since protocol v4); the cut
 * waits for one with content (a v4 frame of a small mutation can be 30-60 bytes).
 */
const MIN_MESSAGE_BYTES = 24;

export class TcpProxy {
  readonly #server: Server;
  readonly #pairs = new Set<Pair>();
  #armed: { readonly until: number; readonly fired: (cut: boolean) => void } | undefined;
  #holding = false;
  port = 0;

  private constructor(server: Server) {
    this.#server = server;
  }

  /** Listens on a free loopback port and forwards every connection to `127.0.0.1:targetPort`. */
  static async start(targetPort: number): Promise<TcpProxy> {
    const server = createServer({ noDelay: true });
    const proxy = new TcpProxy(server);
    server.on('connection', (downstream) => proxy.#forward(downstream, targetPort));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('the proxy has no TCP address');
    proxy.port = address.port;
    return proxy;
  }

  /** Connections whose two sockets are both open (the upstream one connected). */
  get openConnections(): number {
    let open = 0;
    for (const pair of this.#pairs) {
      if (pair.upstreamConnected && !pair.downstream.destroyed && !pair.upstream.destroyed) open++;
    }
    return open;
  }

  /**
   * Cuts every connection: with `reset` both peers get a TCP RST, else the sockets just close (FIN).
   * Returns how many were cut.
   */
  drop(reset: boolean): number {
    const pairs = [...this.#pairs];
    for (const pair of pairs) {
      for (const socket of [pair.downstream, pair.upstream]) {
        if (reset && !socket.destroyed && socket.readyState !== 'opening') socket.resetAndDestroy();
        else socket.destroy();
      }
    }
    return pairs.length;
  }

  /**
   * Cuts the next connection that carries a server message (of content) within `withinMs`, right
   * after that message (invariant 2). Resolves whether it cut one.
   */
  cutAfterMessage(withinMs: number): Promise<boolean> {
    this.#armed?.fired(false);
    return new Promise((resolve) => {
      const armed = {
        until: Date.now() + withinMs,
        fired: (cut: boolean) => {
          if (this.#armed === armed) this.#armed = undefined;
          clearTimeout(timer);
          resolve(cut);
        },
      };
      const timer = setTimeout(() => armed.fired(false), withinMs);
      this.#armed = armed;
    });
  }

  /** From now on, what the server sends waits in the proxy (invariant 3). */
  hold(): void {
    this.#holding = true;
  }

  /** Whole server messages waiting. */
  get waiting(): number {
    let count = 0;
    for (const pair of this.#pairs) count += pair.waiting.length;
    return count;
  }

  /**
   * Lets up to `count` waiting messages through, oldest first; without a count, everything waiting
   * and the hold ends. Returns how many whole messages went through.
   */
  release(count = Number.POSITIVE_INFINITY): number {
    let released = 0;
    for (const pair of this.#pairs) {
      while (released < count && pair.waiting.length > 0) {
        pair.downstream.write(pair.waiting.shift()!);
        released++;
      }
    }
    if (count === Number.POSITIVE_INFINITY) {
      this.#holding = false;
      for (const pair of this.#pairs) {
        for (const part of pair.partial.splice(0)) pair.downstream.write(part);
      }
    }
    return released;
  }

  async close(): Promise<void> {
    this.#armed?.fired(false);
    this.drop(false);
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #forward(downstream: Socket, targetPort: number): void {
    const upstream = connect({ port: targetPort, host: '127.0.0.1', noDelay: true });
    const pair: Pair = { downstream, upstream, upstreamConnected: false, waiting: [], partial: [] };
    this.#pairs.add(pair);
    upstream.once('connect', () => {
      pair.upstreamConnected = true;
    });
    const end = (): void => {
      this.#pairs.delete(pair);
      downstream.destroy();
      upstream.destroy();
    };
    for (const socket of [downstream, upstream]) {
      socket.once('close', end);
      socket.once('error', end);
    }
    downstream.pipe(upstream);
    const frames = new WsFrameScanner();
    const messages = new WsFrameScanner();
    let cut = false;
    let contentMessages = 0;
    upstream.on('data', (chunk: Buffer) => {
      if (cut) return;
      const messageEnds = messages.scan(chunk, 0);
      const ends = frames.scan(chunk, MIN_MESSAGE_BYTES);
      // The first message of a connection is its greeting: the cut aims at what follows (frames).
      const cutAt = ends[contentMessages === 0 ? 1 : 0];
      contentMessages += ends.length;
      if (this.#holding) {
        let from = 0;
        for (const end of messageEnds) {
          pair.waiting.push(Buffer.concat([...pair.partial.splice(0), chunk.subarray(from, end)]));
          from = end;
        }
        if (from < chunk.length) pair.partial.push(chunk.subarray(from));
        return;
      }
      const armed = this.#armed;
      if (cutAt !== undefined && armed !== undefined && Date.now() <= armed.until) {
        cut = true;
        armed.fired(true);
        // The message and a FIN go out first; only then does the pair end (its end would discard them).
        downstream.end(chunk.subarray(0, cutAt), () => upstream.destroy());
        return;
      }
      if (!downstream.write(chunk)) {
        upstream.pause();
        downstream.once('drain', () => upstream.resume());
      }
    });
  }
}
