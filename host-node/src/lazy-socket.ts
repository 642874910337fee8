// A WebSocket whose library (`ws`, ~75 ms of CPU to import) is loaded when the first connection is
// made, not when host-node is imported: a process opening a document answers its first query before
// it needs a socket, and one that never syncs never loads it. Until `ws` is there the socket is
// connecting (readyState 0), as a real one would be; then the real one takes over, with the listeners
// and binaryType given so far. Closed before that, it never connects and reports its close.
import type { WebSocketLike } from '@tandem/runtime/local';

type WebSocketClass = typeof import('ws').WebSocket;
type Listener = (event: { data: unknown }) => void;

let library: Promise<WebSocketClass> | undefined;

export class LazySocket implements WebSocketLike {
  binaryType = 'nodebuffer';
  #socket: WebSocketLike | undefined;
  #closed = false;
  readonly #listeners: [string, Listener][] = [];

  constructor(url: string, options: { readonly maxPayload: number }) {
    library ??= import('ws').then((ws) => ws.WebSocket);
    library.then(
      (WebSocket) => {
        if (this.#closed) return;
        const socket = new WebSocket(url, { maxPayload: options.maxPayload }) as unknown as WebSocketLike;
        socket.binaryType = this.binaryType;
        for (const [type, listener] of this.#listeners) socket.addEventListener(type as 'message', listener);
        this.#socket = socket;
      },
      (error: unknown) => {
        library = undefined;
        this.#closed = true;
        this.#emit('error', { data: error });
        this.#emit('close', { data: undefined });
      },
    );
  }

  get readyState(): number {
    return this.#socket?.readyState ?? (this.#closed ? 3 : 0);
  }

  get bufferedAmount(): number {
    return this.#socket?.bufferedAmount ?? 0;
  }

  send(data: Uint8Array): void {
    if (this.#socket === undefined) throw new Error('the WebSocket is not open yet');
    this.#socket.send(data);
  }

  close(code?: number, reason?: string): void {
    if (this.#socket !== undefined) {
      this.#socket.close(code, reason);
      return;
    }
    if (this.#closed) return;
    this.#closed = true;
    queueMicrotask(() => this.#emit('close', { data: undefined }));
  }

  addEventListener(type: 'open' | 'close' | 'error', listener: () => void): void;
  addEventListener(type: 'message', listener: Listener): void;
  addEventListener(type: string, listener: Listener): void {
    this.#listeners.push([type, listener]);
    this.#socket?.addEventListener(type as 'message', listener);
  }

  #emit(type: string, event: { data: unknown }): void {
    for (const [kind, listener] of this.#listeners) if (kind === type) listener(event);
  }
}
