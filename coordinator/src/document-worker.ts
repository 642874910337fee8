// A document worker: a thread that runs the authoritative copy of some documents. Each worker has its
// own event loop, so a document whose reducer burns its whole budget only delays the documents that
// share its worker, never the coordinator's main thread or the other workers.
//
// Invariant: a document is open at most once here. Opening it while its close is in progress waits
// for that close (files synced and released) first, so two AuthorityDocuments never share its files.
import { parentPort, workerData } from 'node:worker_threads';
import { loadSqlite, type ReducerModule, TandemError } from '@tandem/runtime';
import { loadReducer } from '@tandem/runtime/prepare';
import { AuthorityDocument, type PushReport, type PushRequest } from './authority/authority-document.js';
import { type CatchUpReply, type CatchUpRequest, catchUp, type MigrationFailure } from './catch-up.js';
import { type DocumentMigration, STALE } from './migrate-all.js';
import { serve } from './rpc.js';
import {
  type DocumentStores,
  documentStores,
  type OpenedStorage,
  type StoreConfig,
} from './store/coordinator-store.js';

export interface WorkerConfig {
  /**
   * The prepared reducer every document of this coordinator runs (the server prepares it once, so the
   * workers load no instrumenter); a component is prepared here.
   */
  readonly reducer: Uint8Array;
  /** Where documents persist (store/coordinator-store.ts); in memory only when absent. */
  readonly store?: StoreConfig;
  readonly checkpointEvery?: number;
  readonly maxDocumentBytes?: number;
  /**
   * The reducers before the current one, oldest first: a document whose `migrate` to the current one
   * fails stays on the newest of these at its schema version.
   */
  readonly older?: readonly KnownReducer[];
}

/** A reducer the coordinator knows (reducer-registry.ts RegisteredReducer). */
export interface KnownReducer {
  readonly sha256: string;
  /** Prepared. */
  readonly bytes: Uint8Array;
  readonly schemaVersion: number;
}

const port = parentPort;
if (port === null) throw new Error('document-worker runs inside a worker thread');
const config = workerData as WorkerConfig;
// Loaded at start, not at the first document: the pool's `ready()` waits for it, so a coordinator
// listens with its workers able to open documents (and a failing load stops it before it listens).
// A deploy replaces it (the `deploy` call): documents opened from then on run the new one.
let reducer: Promise<ReducerModule> = loadReducer(config.reducer);
// A reducer that fails to load fails each open that awaits it; unawaited, it must not end the worker.
reducer.catch(() => undefined);
const sqlite = loadSqlite();
sqlite.catch(() => undefined);
const older: KnownReducer[] = [...(config.older ?? [])];
const loadedOlder = new Map<string, Promise<ReducerModule>>();
/** `useReducers` calls so far: only the latest one's reducer becomes current. */
let reducerCalls = 0;
/** Pushes this worker is running: a document's fsync holds the thread only when no other waits on it. */
let pushesRunning = 0;
const stores: DocumentStores | undefined =
  config.store && documentStores(config.store, { syncOnThread: () => pushesRunning <= 1 });
const documents = new Map<string, Promise<Opened>>();
const closing = new Map<string, Promise<void>>();
/**
 * Documents refused for damaged storage (storage-corrupt), with the error: answered from here for a
 * while, so clients retrying do not make the worker reread a damaged journal each time.
 */
const refused = new Map<string, { readonly error: TandemError; readonly until: number }>();
const REFUSAL_MS = 5000;

interface Opened {
  readonly document: AuthorityDocument;
  readonly storage?: OpenedStorage;
  /** The reducer it runs: the current one, or an older one when the current one's `migrate` failed. */
  readonly reducerHash: string;
  /** Why it runs an older reducer; told once, to the first catch-up after the open (then cleared). */
  migrationFailure?: MigrationFailure | undefined;
}

function open(docId: string): Promise<Opened> {
  let opened = documents.get(docId);
  if (opened === undefined) {
    opened = (async () => {
      await closing.get(docId);
      const refusal = refused.get(docId);
      if (refusal !== undefined && Date.now() < refusal.until) throw refusal.error;
      refused.delete(docId);
      const current = await reducer;
      try {
        return await openWith(docId, current);
      } catch (error) {
        // A `migrate` that fails leaves the document where it was (its transaction rolled back): it
        // keeps serving under the newest reducer known at its own schema version, and says why.
        if (!(error instanceof TandemError) || error.kind !== 'migration-failed') throw error;
        const fromVersion = error.fields.fromVersion;
        const fallback = older.findLast((known) => known.schemaVersion === fromVersion);
        if (fallback === undefined) throw error;
        const kept = await openWith(docId, await load(fallback));
        kept.migrationFailure = {
          fromVersion: fromVersion ?? 0,
          toVersion: error.fields.toVersion ?? 0,
          reason: error.fields.reason ?? error.message,
          reducerHash: current.sha256,
        };
        return kept;
      }
    })();
    documents.set(docId, opened);
    opened.catch(() => documents.delete(docId));
  }
  return opened;
}

async function openWith(docId: string, module: ReducerModule): Promise<Opened> {
  const storage = await stores?.open(docId);
  try {
    const document = await AuthorityDocument.open({
      docId,
      reducer: module,
      ...(storage && { store: storage.store }),
      ...(config.checkpointEvery !== undefined && { checkpointEvery: config.checkpointEvery }),
      ...(config.maxDocumentBytes !== undefined && { maxDocumentBytes: config.maxDocumentBytes }),
    });
    return { document, ...(storage && { storage }), reducerHash: module.sha256 };
  } catch (error) {
    await storage?.release();
    if (error instanceof TandemError && error.kind === 'storage-corrupt') {
      refused.set(docId, { error, until: Date.now() + REFUSAL_MS });
    }
    throw error;
  }
}

/** A known reducer, loaded once (one that fails to load is tried again at its next use). */
function load(known: KnownReducer): Promise<ReducerModule> {
  let loaded = loadedOlder.get(known.sha256);
  if (loaded === undefined) {
    loaded = loadReducer(known.bytes);
    loadedOlder.set(known.sha256, loaded);
    loaded.catch(() => loadedOlder.delete(known.sha256));
  }
  return loaded;
}

async function document(docId: string): Promise<AuthorityDocument> {
  return (await open(docId)).document;
}

serve(port, {
  open: async (docId: string): Promise<void> => {
    await open(docId);
  },
  push: async (docId: string, requests: PushRequest[]): Promise<PushReport> => {
    pushesRunning++;
    try {
      return await (await document(docId)).push(requests);
    } finally {
      pushesRunning--;
    }
  },
  query: async (docId: string, sql: string, params: (string | number | null)[]) =>
    (await document(docId)).query(sql, params),
  pageHash: async (docId: string): Promise<string> => (await document(docId)).pageHash(),
  catchUp: async (docId: string, request: CatchUpRequest): Promise<CatchUpReply> => {
    const opened = await open(docId);
    const { migrationFailure } = opened;
    opened.migrationFailure = undefined;
    return {
      ...(await catchUp(opened.document, request)),
      reducerHash: opened.reducerHash,
      ...(migrationFailure && { migrationFailure }),
    };
  },
  // migrate-all.ts: opens the document under the current reducer (running `migrate`) and says what it
  // became; one already open under an older reducer is answered STALE, for the pool to close first.
  migrate: async (docId: string): Promise<DocumentMigration | typeof STALE> => {
    const current = await reducer;
    const existing = documents.get(docId);
    if (existing !== undefined) {
      const opened = await existing;
      if (opened.reducerHash !== current.sha256) return STALE;
      return { outcome: 'current', schemaVersion: opened.document.migration.toVersion };
    }
    const opened = await open(docId);
    const failure = opened.migrationFailure;
    if (failure !== undefined) {
      // Reported by the caller: the first catch-up must not report it a second time.
      opened.migrationFailure = undefined;
      return {
        outcome: 'failed',
        reason: failure.reason,
        fromVersion: failure.fromVersion,
        toVersion: failure.toVersion,
      };
    }
    const { fromVersion, toVersion, migrated } = opened.document.migration;
    return migrated
      ? { outcome: 'migrated', fromVersion, toVersion }
      : { outcome: 'current', schemaVersion: toVersion };
  },
  close: async (docId: string): Promise<void> => {
    const opened = documents.get(docId);
    if (opened === undefined) return;
    documents.delete(docId);
    const done = (async () => {
      const { document, storage } = await opened;
      try {
        await document.close();
      } finally {
        await storage?.release();
      }
    })();
    const settled = done.catch(() => undefined);
    closing.set(docId, settled);
    void settled.then(() => {
      if (closing.get(docId) === settled) closing.delete(docId);
    });
    await done;
  },
  closeAll: async (): Promise<void> => {
    for (const [docId, opened] of documents) {
      documents.delete(docId);
      const { document: closing, storage } = await opened.catch(() => ({
        document: undefined,
        storage: undefined,
      }));
      await closing?.close();
      await storage?.release();
    }
    await stores?.close();
  },
  // A deploy, here or on another coordinator of the store (shared-reducers.ts): documents opened from
  // now on run `current`, and fall back on `known` (oldest first) when its `migrate` fails. Calls
  // arrive in order; a load that ends after a later call's is not taken.
  useReducers: async (current: KnownReducer, known: KnownReducer[]): Promise<void> => {
    const call = ++reducerCalls;
    const next = load(current);
    await next;
    if (call !== reducerCalls) return;
    older.splice(0, older.length, ...known);
    reducer = next;
  },
  ping: (): number => Date.now(),
  ready: async (): Promise<void> => {
    await Promise.all([reducer, sqlite]);
  },
});
