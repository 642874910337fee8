// A document worker: a thread that runs the authoritative copy of some documents. Each worker has its
// own event loop, so a document whose reducer burns its whole budget only delays the documents that
// share its worker, never the coordinator's main thread or the other workers.
//
// Invariant: a document is open at most once here. Opening it while its close is in progress waits
// for that close (files synced and released) first, so two AuthorityDocuments never share its files.
import { parentPort, workerData } from 'node:worker_threads';
import { documentFolder, FsByteStore } from '@tandem/host-node';
import { AuthorityDocument, type PushReport, type PushRequest } from '@tandem/migrations';
import { loadSqlite, type ReducerModule, TandemError } from '@tandem/runtime';
import { loadReducer } from '@tandem/runtime/prepare';
import { type CatchUpRequest, catchUp } from './catch-up.js';
import { serve } from './rpc.js';

export interface WorkerConfig {
  /**
   * The prepared reducer every document of this coordinator runs (the server prepares it once, so the
   * workers load no instrumenter); a component is prepared here.
   */
  readonly reducer: Uint8Array;
  /** Where documents persist (one folder each); in memory only when absent. */
  readonly dataDir?: string;
  readonly checkpointEvery?: number;
  readonly maxDocumentBytes?: number;
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
const documents = new Map<string, Promise<{ document: AuthorityDocument; files?: FsByteStore }>>();
const closing = new Map<string, Promise<void>>();
/**
 * Documents refused for damaged storage (storage-corrupt), with the error: answered from here for a
 * while, so clients retrying do not make the worker reread a damaged journal each time.
 */
const refused = new Map<string, { readonly error: TandemError; readonly until: number }>();
const REFUSAL_MS = 5000;

function open(docId: string): Promise<{ document: AuthorityDocument; files?: FsByteStore }> {
  let opened = documents.get(docId);
  if (opened === undefined) {
    opened = (async () => {
      await closing.get(docId);
      const refusal = refused.get(docId);
      if (refusal !== undefined && Date.now() < refusal.until) throw refusal.error;
      refused.delete(docId);
      const files =
        config.dataDir === undefined
          ? undefined
          : await FsByteStore.open(documentFolder(config.dataDir, docId));
      try {
        const document = await AuthorityDocument.open({
          docId,
          reducer: await reducer,
          ...(files && { storage: files }),
          ...(config.checkpointEvery !== undefined && { checkpointEvery: config.checkpointEvery }),
          ...(config.maxDocumentBytes !== undefined && { maxDocumentBytes: config.maxDocumentBytes }),
        });
        return { document, ...(files && { files }) };
      } catch (error) {
        await files?.close();
        if (error instanceof TandemError && error.kind === 'storage-corrupt') {
          refused.set(docId, { error, until: Date.now() + REFUSAL_MS });
        }
        throw error;
      }
    })();
    documents.set(docId, opened);
    opened.catch(() => documents.delete(docId));
  }
  return opened;
}

async function document(docId: string): Promise<AuthorityDocument> {
  return (await open(docId)).document;
}

serve(port, {
  open: async (docId: string): Promise<void> => {
    await open(docId);
  },
  push: async (docId: string, requests: PushRequest[]): Promise<PushReport> =>
    (await document(docId)).push(requests),
  query: async (docId: string, sql: string, params: (string | number | null)[]) =>
    (await document(docId)).query(sql, params),
  pageHash: async (docId: string): Promise<string> => (await document(docId)).pageHash(),
  catchUp: async (docId: string, request: CatchUpRequest) => catchUp(await document(docId), request),
  close: async (docId: string): Promise<void> => {
    const opened = documents.get(docId);
    if (opened === undefined) return;
    documents.delete(docId);
    const done = (async () => {
      const { document, files } = await opened;
      try {
        await document.close();
      } finally {
        await files?.close();
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
      const { document: closing, files } = await opened.catch(() => ({
        document: undefined,
        files: undefined,
      }));
      await closing?.close();
      await files?.close();
    }
  },
  deploy: async (bytes: Uint8Array): Promise<void> => {
    const next = loadReducer(bytes);
    await next;
    reducer = next;
  },
  ping: (): number => Date.now(),
  ready: async (): Promise<void> => {
    await Promise.all([reducer, sqlite]);
  },
});
