// The coordinator's documents, spread over worker threads. A document lives in one worker for as long
// as the pool runs; a new document goes to the worker holding the fewest, so with as many workers as
// cores a document burning its reducer's whole budget delays only the documents sharing its worker.
//
// Invariants:
// 1. All calls for one document go to the same worker, in call order (the worker's AuthorityDocument
//    serializes pushes).
// 2. After `close`, every call rejects with a `closed` error; the workers have closed their documents
//    (files synced and released) and exited.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { PushReport, PushRequest } from '@tandem/migrations';
import { TandemError } from '@tandem/runtime';
import type { CatchUpReply, CatchUpRequest } from './catch-up.js';
import type { WorkerConfig } from './document-worker.js';
import { RpcClient } from './rpc.js';

export interface DocumentPoolOptions {
  /** The reducer component's bytes (`tandem build` output). */
  readonly reducer: Uint8Array;
  /** Where documents persist; in memory only when absent. */
  readonly dataDir?: string;
  /** Worker threads; one per core by default. */
  readonly workers?: number;
  /** Frames between checkpoints of each document (AuthorityOptions). */
  readonly checkpointEvery?: number;
  /** A push growing a document past this many bytes is rejected (AuthorityOptions.maxDocumentBytes). */
  readonly maxDocumentBytes?: number;
}

interface Slot {
  readonly worker: Worker;
  readonly rpc: RpcClient;
  documents: number;
}

export class DocumentPool {
  readonly #slots: Slot[];
  readonly #placement = new Map<string, Slot>();
  #closed = false;

  constructor(options: DocumentPoolOptions) {
    const count = Math.max(1, options.workers ?? availableParallelism());
    const config: WorkerConfig = {
      reducer: options.reducer,
      ...(options.dataDir !== undefined && { dataDir: options.dataDir }),
      ...(options.checkpointEvery !== undefined && { checkpointEvery: options.checkpointEvery }),
      ...(options.maxDocumentBytes !== undefined && { maxDocumentBytes: options.maxDocumentBytes }),
    };
    this.#slots = Array.from({ length: count }, () => {
      const worker = new Worker(workerUrl(), { workerData: config, execArgv: workerExecArgv() });
      return { worker, rpc: new RpcClient(worker), documents: 0 };
    });
  }

  /** Which worker (0-based) holds the document; placing it if it has none yet. */
  workerOf(docId: string): number {
    return this.#slots.indexOf(this.#slot(docId));
  }

  push(docId: string, requests: readonly PushRequest[]): Promise<PushReport> {
    return this.#call(docId, 'push', requests);
  }

  query(
    docId: string,
    sql: string,
    params: readonly (string | number | null)[] = [],
  ): Promise<Record<string, unknown>[]> {
    return this.#call(docId, 'query', sql, params);
  }

  pageHash(docId: string): Promise<string> {
    return this.#call(docId, 'pageHash');
  }

  /** Opens the document if needed and tells a client at `request.cursor` how to reach its head. */
  catchUp(docId: string, request: CatchUpRequest): Promise<CatchUpReply> {
    return this.#call(docId, 'catchUp', request);
  }

  /** Closes the document in its worker (files synced); the next call reopens it from its journal. */
  release(docId: string): Promise<void> {
    return this.#call(docId, 'close');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(
      this.#slots.map(async (slot) => {
        await slot.rpc.call('closeAll').catch(() => undefined);
        await slot.worker.terminate();
      }),
    );
  }

  #call<T>(docId: string, method: string, ...args: unknown[]): Promise<T> {
    if (this.#closed) return Promise.reject(new TandemError('closed', 'the document pool is closed'));
    if (typeof docId !== 'string' || docId.length === 0) {
      return Promise.reject(new TandemError('invalid-argument', 'a document id must be a non-empty string'));
    }
    return this.#slot(docId).rpc.call<T>(method, docId, ...args);
  }

  #slot(docId: string): Slot {
    let slot = this.#placement.get(docId);
    if (slot === undefined) {
      slot = this.#slots.reduce((least, s) => (s.documents < least.documents ? s : least));
      slot.documents++;
      this.#placement.set(docId, slot);
    }
    return slot;
  }
}

/**
 * The worker's compiled entry. Tests run this module from its TypeScript source, where no compiled
 * sibling exists: they use the build's output (`npm run build`, which `npm test` runs first).
 */
function workerUrl(): URL {
  const here = new URL(import.meta.url);
  return here.pathname.endsWith('.ts')
    ? new URL('../dist/document-worker.js', here)
    : new URL('./document-worker.js', here);
}

/** The parent's Node flags minus export conditions: one inherited from a test runner (`source`) would
 * point the compiled worker at TypeScript sources. */
function workerExecArgv(): string[] {
  const kept: string[] = [];
  const args = process.execArgv;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--conditions' || arg === '-C') i++;
    else if (!arg.startsWith('--conditions=')) kept.push(arg);
  }
  return kept;
}
