// A loopback proxy in front of a coordinator that can shut out sync while the app's pages still load:
// a page reloads with its mutations pending, which a browser offline (no page at all) or a stopped
// coordinator (which also serves the page) cannot show. A connection is a sync one when its request
// line is `GET /sync`; Chromium never reuses an HTTP connection for a WebSocket.
import { connect, createServer, type Server, type Socket } from 'node:net';

export class SyncGate {
  readonly #syncSockets = new Set<Socket>();
  readonly #sockets = new Set<Socket>();
  #blocked = false;

  private constructor(
    readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<SyncGate> {
    const server = createServer({ noDelay: true });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    const gate = new SyncGate(server, address.port);
    server.on('connection', (socket) => gate.#forward(socket, targetPort));
    return gate;
  }

  /** The origin pages load the app from. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Cuts the sync connections and refuses new ones until `open`. */
  block(): void {
    this.#blocked = true;
    for (const socket of this.#syncSockets) socket.destroy();
  }

  open(): void {
    this.#blocked = false;
  }

  async close(): Promise<void> {
    this.block();
    for (const socket of this.#sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  #forward(downstream: Socket, targetPort: number): void {
    this.#sockets.add(downstream);
    downstream.once('close', () => this.#sockets.delete(downstream));
    downstream.once('data', (first: Buffer) => {
      const isSync = first.subarray(0, 10).toString('latin1') === 'GET /sync ';
      if (isSync && this.#blocked) {
        downstream.destroy();
        return;
      }
      const upstream = connect({ port: targetPort, host: '127.0.0.1', noDelay: true });
      const pair = [downstream, upstream];
      if (isSync) {
        this.#syncSockets.add(downstream);
        downstream.once('close', () => this.#syncSockets.delete(downstream));
      }
      for (const socket of pair) {
        socket.on('error', () => undefined);
        socket.once('close', () => {
          for (const other of pair) other.destroy();
        });
      }
      upstream.write(first);
      downstream.pipe(upstream);
      upstream.pipe(downstream);
    });
    downstream.on('error', () => undefined);
  }
}
