// A TCP proxy on loopback that can cut its connections: the chaos test puts one between each client
// process and the coordinator, so a socket drop is a real one (both peers see their connection end).
//
// Invariant: a connection is counted open only while both of its sockets are; when either side ends or
// fails, the other is destroyed too, so no half-open pair outlives a drop or a dead upstream.
import { connect, createServer, type Server, type Socket } from 'node:net';

interface Pair {
  readonly downstream: Socket;
  readonly upstream: Socket;
  upstreamConnected: boolean;
}

export class TcpProxy {
  readonly #server: Server;
  readonly #pairs: Set<Pair>;
  readonly port: number;

  private constructor(server: Server, pairs: Set<Pair>, port: number) {
    this.#server = server;
    this.#pairs = pairs;
    this.port = port;
  }

  /** Listens on a free loopback port and forwards every connection to `127.0.0.1:targetPort`. */
  static async start(targetPort: number): Promise<TcpProxy> {
    const pairs = new Set<Pair>();
    const server = createServer({ noDelay: true }, (downstream) => {
      const upstream = connect({ port: targetPort, host: '127.0.0.1', noDelay: true });
      const pair: Pair = { downstream, upstream, upstreamConnected: false };
      pairs.add(pair);
      upstream.once('connect', () => {
        pair.upstreamConnected = true;
      });
      const end = (): void => {
        pairs.delete(pair);
        downstream.destroy();
        upstream.destroy();
      };
      for (const socket of [downstream, upstream]) {
        socket.once('close', end);
        socket.once('error', end);
      }
      downstream.pipe(upstream);
      upstream.pipe(downstream);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('the proxy has no TCP address');
    return new TcpProxy(server, pairs, address.port);
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

  async close(): Promise<void> {
    this.drop(false);
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
