// Calls between the coordinator's main thread and its document workers: request/response messages
// over a worker port, one id per call. A TandemError thrown in a worker arrives as a TandemError (kind
// and fields intact), so callers branch on `kind` wherever the document runs; anything else arrives as
// an Error with the worker's message.
import type { MessagePort, Worker } from 'node:worker_threads';
import { TandemError, type TandemErrorFields, type TandemErrorKind } from '@tandem/runtime';

export interface RpcRequest {
  readonly id: number;
  readonly method: string;
  readonly args: readonly unknown[];
}

export type RpcResponse =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: SerializedError };

interface SerializedError {
  readonly message: string;
  readonly kind?: TandemErrorKind;
  readonly fields?: TandemErrorFields;
}

/** Serves `handlers` on `port`: each request runs its handler, and the result or error goes back. */
export function serve(port: MessagePort, handlers: Record<string, (...args: never[]) => unknown>): void {
  port.on('message', (request: RpcRequest) => {
    const handler = handlers[request.method];
    void (async () => {
      try {
        if (handler === undefined) throw new Error(`unknown method ${request.method}`);
        const value = await (handler as (...args: unknown[]) => unknown)(...request.args);
        port.postMessage({ id: request.id, ok: true, value } satisfies RpcResponse);
      } catch (error) {
        port.postMessage({ id: request.id, ok: false, error: serializeError(error) } satisfies RpcResponse);
      }
    })();
  });
}

/** The calling side: `call(method, ...args)` resolves with the handler's result. */
export class RpcClient {
  readonly #worker: Worker;
  readonly #pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void }
  >();
  #nextId = 0;
  #dead: Error | undefined;

  constructor(worker: Worker) {
    this.#worker = worker;
    worker.on('message', (response: RpcResponse) => {
      const pending = this.#pending.get(response.id);
      if (pending === undefined) return;
      this.#pending.delete(response.id);
      if (response.ok) pending.resolve(response.value);
      else pending.reject(deserializeError(response.error));
    });
    const die = (error: Error): void => {
      this.#dead ??= error;
      for (const pending of this.#pending.values()) pending.reject(error);
      this.#pending.clear();
    };
    worker.on('error', die);
    worker.on('exit', (code) => die(new Error(`document worker exited with code ${code}`)));
  }

  /** How many calls are waiting for their answer. */
  get inFlight(): number {
    return this.#pending.size;
  }

  call<T>(method: string, ...args: unknown[]): Promise<T> {
    if (this.#dead !== undefined) return Promise.reject(this.#dead);
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.#worker.postMessage({ id, method, args } satisfies RpcRequest);
    });
  }
}

function serializeError(error: unknown): SerializedError {
  if (error instanceof TandemError) return { message: error.message, kind: error.kind, fields: error.fields };
  return { message: error instanceof Error ? error.message : String(error) };
}

function deserializeError(error: SerializedError): Error {
  if (error.kind !== undefined) return new TandemError(error.kind, error.message, error.fields ?? {});
  return new Error(error.message);
}
