// A document worker: a thread that runs the authoritative copy of some documents. Each worker has its
// own event loop, so a document whose reducer burns its whole budget only delays the documents that
// share its worker, never the coordinator's main thread or the other workers.
import { parentPort, workerData } from 'node:worker_threads';
import { documentFolder, FsByteStore } from '@tandem/host-node';
import { AuthorityDocument, type PushReport, type PushRequest } from '@tandem/migrations';
import { loadReducer, type ReducerModule, TandemError } from '@tandem/runtime';
import { type CatchUpRequest, catchUp } from './catch-up.js';
import { serve } from './rpc.js';

export interface WorkerConfig {
  /** The reducer component's bytes: every document of this coordinator runs it. */
  readonly reducer: Uint8Array;
  /** Where documents persist (one folder each); in memory only when absent. */
  readonly dataDir?: string;
  readonly checkpointEvery?: number;
  readonly maxDocumentBytes?: number;
}

const port = parentPort;
if (port === null) throw new Error('document-worker runs inside a worker thread');
const config = workerData as WorkerConfig;
let reducer: Promise<ReducerModule> | undefined;
const documents = new Map<string, Promise<{ document: AuthorityDocument; files?: FsByteStore }>>();
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
      reducer ??= loadReducer(config.reducer);
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
    const { document: closing, files } = await opened;
    await closing.close();
    await files?.close();
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
  ping: (): number => Date.now(),
});
