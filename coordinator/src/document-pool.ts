// The coordinator's documents, spread over worker threads. A document is open in one worker while it
// is in use, and closes when it has been idle for a while, so memory follows the documents in use,
// not every document ever touched. A new or reopened document goes to the worker holding the fewest,
// so with as many workers as cores a document burning its reducer's whole budget delays only the
// documents sharing its worker.
//
// Invariants:
// 1. All calls for one document go to the same worker, in call order, while it is open there. A call
//    made while the document closes waits for the close, then reopens it: no call meets a closing
//    document, and no two workers ever hold the same document's files.
// 2. A document with a hold (a hub with connections) or a call in flight is never closed by the pool.
//    An idle one (neither) closes `idleDocumentMs` after it became idle, or at once, least recently
//    used first, while more than `maxOpenDocuments` are open. Documents kept only in memory (no
//    `dataDir`) would be lost by a close: they are never closed as idle.
// 3. After `close`, every call rejects with a `closed` error; the workers have closed their documents
//    (files synced and released) and exited.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { TandemError } from '@tandem/runtime';
import type { PushReport, PushRequest } from './authority/authority-document.js';
import type { CatchUpReply, CatchUpRequest } from './catch-up.js';
import type { KnownReducer, WorkerConfig } from './document-worker.js';
import type { DocumentMigration, STALE } from './migrate-all.js';
import { RpcClient } from './rpc.js';
import type { StoreConfig } from './store/coordinator-store.js';

export interface DocumentPoolOptions {
  /** The prepared reducer (`prepareReducer`), or a component (`tandem build` output) each worker prepares. */
  readonly reducer: Uint8Array;
  /** The reducers known before it, oldest first (WorkerConfig.older). */
  readonly older?: readonly KnownReducer[];
  /** Where documents persist (store/coordinator-store.ts); in memory only when absent (nor `dataDir`). */
  readonly store?: StoreConfig;
  /** Shorthand for `store: { kind: 'files', dataDir }`. */
  readonly dataDir?: string;
  /** Worker threads; one per core by default. */
  readonly workers?: number;
  /** Frames between checkpoints of each document (AuthorityOptions). */
  readonly checkpointEvery?: number;
  /** A push growing a document past this many bytes is rejected (AuthorityOptions.maxDocumentBytes). */
  readonly maxDocumentBytes?: number;
  /** Idle documents beyond this many open ones close, least recently used first. 1,000 by default. */
  readonly maxOpenDocuments?: number;
  /** A document idle (no hold, no call) this long closes. 60 s by default. */
  readonly idleDocumentMs?: number;
  /**
   * Asked before a document opens in a worker (the pool's first call for it), and told once it closed
   * there: a PostgreSQL store's lease (store/leases.ts). A claim that fails fails the call, and the next
   * call claims again.
   */
  readonly claim?: (docId: string) => Promise<void>;
  readonly unclaim?: (docId: string) => Promise<void>;
  /** Told of each document the pool closed, and of each close that failed (logs and metrics). */
  readonly onDocumentClosed?: (docId: string, reason: CloseReason, error?: unknown) => void;
  /** Told of each `unclaim` that failed (logs and metrics): the lease then runs out on its own. */
  readonly onUnclaimFailed?: (docId: string, error: unknown) => void;
}

export type CloseReason = 'idle' | 'capacity';

// An open document holds about 0.75 MiB of its worker's SQLite heap, and a WebAssembly memory never
// shrinks: this bound is what a burst of documents can raise the coordinator's memory to for good.
const DEFAULT_MAX_OPEN_DOCUMENTS = 256;
const DEFAULT_IDLE_DOCUMENT_MS = 60_000;

interface Slot {
  readonly worker: Worker;
  readonly rpc: RpcClient;
  /** Documents placed on this worker (open, or closing). */
  documents: number;
}

interface Placed {
  readonly slot: Slot;
  holds: number;
  calls: number;
  /** Set from the moment the pool decides to close the document until the worker has closed it. */
  closing: Promise<void> | undefined;
  /** The claim its calls wait for (`DocumentPoolOptions.claim`); cleared when it fails. */
  claimed: Promise<void> | undefined;
  idleTimer: NodeJS.Timeout | undefined;
}

export class DocumentPool {
  readonly #options: DocumentPoolOptions;
  readonly #config: WorkerConfig;
  readonly #slots: Slot[];
  /** Placed documents, least recently used first (each use moves a document to the end). */
  readonly #placed = new Map<string, Placed>();
  readonly #maxOpen: number;
  readonly #idleMs: number;
  readonly #closesIdle: boolean;
  /** How many placed documents are closing. */
  #closing = 0;
  #closed = false;

  constructor(options: DocumentPoolOptions) {
    this.#options = options;
    const count = Math.max(1, options.workers ?? availableParallelism());
    const store: StoreConfig | undefined =
      options.store ??
      (options.dataDir === undefined ? undefined : { kind: 'files', dataDir: options.dataDir });
    this.#config = {
      reducer: options.reducer,
      ...(options.older !== undefined && { older: options.older }),
      ...(store !== undefined && { store }),
      ...(options.checkpointEvery !== undefined && { checkpointEvery: options.checkpointEvery }),
      ...(options.maxDocumentBytes !== undefined && { maxDocumentBytes: options.maxDocumentBytes }),
    };
    this.#maxOpen = options.maxOpenDocuments ?? DEFAULT_MAX_OPEN_DOCUMENTS;
    this.#idleMs = options.idleDocumentMs ?? DEFAULT_IDLE_DOCUMENT_MS;
    if (!(this.#maxOpen >= 1) || !(this.#idleMs >= 0)) {
      throw new TandemError(
        'invalid-argument',
        'maxOpenDocuments must be at least 1 and idleDocumentMs at least 0',
      );
    }
    this.#closesIdle = store !== undefined;
    this.#slots = Array.from({ length: count }, () => this.#startWorker());
  }

  /** Resolves once every worker has loaded SQLite and the reducer; rejects if one cannot. */
  async ready(): Promise<void> {
    await Promise.all(this.#slots.map((slot) => slot.rpc.call('ready')));
  }

  /** Documents open (or opening, or closing) in the workers. */
  get openDocuments(): number {
    return this.#placed.size;
  }

  /** Which worker (0-based) holds the document; placing it if it has none yet. */
  workerOf(docId: string): number {
    const placed = this.#place(docId);
    const index = this.#slots.indexOf(placed.slot);
    this.#settle(docId, placed);
    return index;
  }

  /**
   * Keeps the document open until the returned function is called (a hub holds its document while
   * it has connections). Holding does not open it: the first call does.
   */
  hold(docId: string): () => void {
    const placed = this.#place(docId);
    placed.holds++;
    this.#touch(docId, placed);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      placed.holds--;
      this.#settle(docId, placed);
    };
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

  /**
   * Makes `current` (prepared) the reducer every worker opens documents with from now on, `known` the
   * ones a document whose `migrate` fails falls back on (oldest first). Open documents stay as they
   * are: `releaseAll` closes them (each reopens under `current` at its next call, and `migrate` runs
   * then). Only with a store: a document kept only in memory would be lost by the close.
   */
  async useReducers(current: KnownReducer, known: readonly KnownReducer[]): Promise<void> {
    if (this.#closed) throw new TandemError('closed', 'the document pool is closed');
    await Promise.all(this.#slots.map((slot) => slot.rpc.call('useReducers', current, known)));
  }

  /**
   * Closes every placed document but `except` (files synced); the next call of each reopens it. The
   * closes start now: a call made from now on waits for its document's close.
   */
  releaseAll(except?: string): Promise<void> {
    return Promise.all(
      [...this.#placed.keys()].filter((docId) => docId !== except).map((docId) => this.release(docId)),
    ).then(() => undefined);
  }

  /**
   * Opens the document under the current reducer if it is not open, running its `migrate`, and says
   * what it became; STALE when it is open under an older reducer (migrate-all.ts closes it first).
   */
  migrate(docId: string): Promise<DocumentMigration | typeof STALE> {
    return this.#call(docId, 'migrate');
  }

  /** Closes the document in its worker (files synced); the next call reopens it from its journal. */
  release(docId: string): Promise<void> {
    if (this.#closed) return Promise.reject(new TandemError('closed', 'the document pool is closed'));
    const placed = this.#placed.get(docId);
    if (placed === undefined) return Promise.resolve();
    return placed.closing ?? this.#close(docId, placed);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const placed of this.#placed.values()) clearTimeout(placed.idleTimer);
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
    const closing = this.#placed.get(docId)?.closing;
    if (closing !== undefined) return closing.then(() => this.#call<T>(docId, method, ...args));
    const placed = this.#place(docId);
    placed.calls++;
    this.#touch(docId, placed);
    this.#shed();
    const claim = this.#options.claim;
    let call: Promise<T>;
    if (claim === undefined) call = placed.slot.rpc.call<T>(method, docId, ...args);
    else {
      // Every call waits for the same claim, so they still reach the worker in call order (invariant 1).
      placed.claimed ??= claim(docId);
      const claimed = placed.claimed;
      claimed.catch(() => {
        if (placed.claimed === claimed) placed.claimed = undefined;
      });
      call = claimed.then(() => placed.slot.rpc.call<T>(method, docId, ...args));
    }
    return call.finally(() => {
      placed.calls--;
      this.#settle(docId, placed);
    });
  }

  /** The document's placement, placing it on the least loaded worker if it has none. */
  #place(docId: string): Placed {
    let placed = this.#placed.get(docId);
    if (placed === undefined) {
      const slot = this.#slots.reduce((least, s) => (s.documents < least.documents ? s : least));
      slot.documents++;
      placed = { slot, holds: 0, calls: 0, closing: undefined, claimed: undefined, idleTimer: undefined };
      this.#placed.set(docId, placed);
    }
    return placed;
  }

  /** The document is in use: it becomes the most recently used and its idle clock stops. */
  #touch(docId: string, placed: Placed): void {
    clearTimeout(placed.idleTimer);
    placed.idleTimer = undefined;
    this.#placed.delete(docId);
    this.#placed.set(docId, placed);
  }

  /** After a use ends: an idle document starts its idle clock, and the pool sheds idle documents past its bound. */
  #settle(docId: string, placed: Placed): void {
    if (this.#closed || !this.#closesIdle || !isIdle(placed)) return;
    clearTimeout(placed.idleTimer);
    placed.idleTimer = setTimeout(() => {
      placed.idleTimer = undefined;
      if (this.#placed.get(docId) === placed && isIdle(placed)) void this.#close(docId, placed, 'idle');
    }, this.#idleMs);
    placed.idleTimer.unref();
    this.#shed();
  }

  /** Closes idle documents, least recently used first, while more than the bound are open. */
  #shed(): void {
    if (!this.#closesIdle) return;
    for (const [docId, placed] of this.#placed) {
      if (this.#placed.size - this.#closing <= this.#maxOpen) return;
      if (isIdle(placed)) void this.#close(docId, placed, 'capacity');
    }
  }

  #close(docId: string, placed: Placed, reason?: CloseReason): Promise<void> {
    clearTimeout(placed.idleTimer);
    placed.idleTimer = undefined;
    const { slot } = placed;
    this.#closing++;
    placed.closing = slot.rpc
      .call<void>('close', docId)
      .then(
        () => {
          if (reason !== undefined) this.#options.onDocumentClosed?.(docId, reason);
        },
        (error: unknown) => {
          // The document stays closed in the worker either way (the worker forgets it first); the
          // failure is reported, and the next call reopens it from its journal.
          if (reason !== undefined) this.#options.onDocumentClosed?.(docId, reason, error);
        },
      )
      // The lease goes once the worker has closed it, and before a call waiting for the close places
      // it again (and claims it again).
      // A claim still on its way is waited for: released before it lands, its lease would stay held
      // (and renewed) with the document closed.
      .then(() =>
        placed.claimed?.then(
          () =>
            this.#options.unclaim?.(docId).catch((error: unknown) => {
              this.#options.onUnclaimFailed?.(docId, error);
            }),
          // A claim that failed holds nothing to release (its call reported the failure).
          () => undefined,
        ),
      )
      .finally(() => {
        this.#closing--;
        this.#placed.delete(docId);
        slot.documents--;
      });
    return placed.closing;
  }

  #startWorker(): Slot {
    const worker = new Worker(workerUrl(), { workerData: this.#config, execArgv: workerExecArgv() });
    return { worker, rpc: new RpcClient(worker), documents: 0 };
  }
}

function isIdle(placed: Placed): boolean {
  return placed.holds === 0 && placed.calls === 0 && placed.closing === undefined;
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
