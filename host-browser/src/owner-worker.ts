// The owner worker's entry: a dedicated worker that a tab standing for owner starts (owner-link.ts),
// or that a tab starts as soon as it imports host-browser (owner-prestart.ts). It is small on purpose
// and imports its two big parts dynamically, both at once as it runs, so their fetches overlap instead
// of the second waiting for the first to be evaluated: the runtime's SQLite loader (which instantiates
// sqlite3.wasm, once per worker) and the rest of the owner's code (owner-service.ts). (With sqlite-wasm's
// JavaScript in the entry's chunk, as before, the worker ran its first line ~60 ms later and SQLite was
// ready ~60 ms later too: its 220 KB had to be fetched and evaluated before anything else started; the
// runtime no longer imports it.) The entry also starts sqlite3.wasm's fetch and compile itself, from its
// first line, and hands the module to the loader.
// Meanwhile it fetches the reducer the tab names in `prepare`. None of it touches OPFS or the network
// beyond those fetches, so a tab that loses the election ends this worker unharmed. Only the elected
// tab's `open` touches OPFS: the entry starts opening the document's folder as soon as it arrives
// (five round trips to the browser's storage, run while SQLite loads instead of after it), and
// hands it to the service with the open.
//
// Invariant: every message reaches owner-service.ts in the order it was sent: those that arrive while
// it loads wait for it. If it cannot load, an `open` is answered `failed` (a start that may be retried)
// and a `close` is answered `closed`, so no tab waits on this worker.
import { type LockedFolder, openDocumentFolder, syncAccessSupported } from './opfs-folder.js';
import type { FromOwnerWorker, Prefetched, ToOwnerWorker } from './owner-protocol.js';
import { sqliteWasmUrl } from './sqlite-wasm-url.js';

interface DedicatedWorkerScope {
  postMessage(message: FromOwnerWorker): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<ToOwnerWorker>) => void): void;
  removeEventListener(type: 'message', listener: (event: MessageEvent<ToOwnerWorker>) => void): void;
}

const scope = globalThis as unknown as DedicatedWorkerScope;

// sqlite3.wasm is fetched and compiled from the first line, beside the loader's chunk rather than
// after it (that chunk asks for it only once loaded and run). A failed compile is not the open's: the
// loader then fetches its own.
const sqliteWasm = WebAssembly.compileStreaming(fetch(sqliteWasmUrl, { credentials: 'same-origin' }));
sqliteWasm.catch(() => undefined);
// Its failure is the open's: the runtime loads it again there, and reports why it could not.
import('@tandem/runtime/sqlite').then(({ loadSqlite }) => loadSqlite(sqliteWasm)).catch(() => undefined);

const early: ToOwnerWorker[] = [];
let reducer: Prefetched | undefined;
let folder: Promise<LockedFolder> | undefined;
const hold = ({ data }: MessageEvent<ToOwnerWorker>) => {
  if (data.type === 'prepare') {
    reducer = { url: data.reducer, response: fetch(data.reducer), syncs: data.syncs };
    // Its failure is the open's, reported when the open reads it.
    reducer.response.catch(() => undefined);
  } else {
    if (data.type === 'open' && folder === undefined && data.config.persist && syncAccessSupported()) {
      folder = openDocumentFolder(data.config.docId);
      // Its failure is the open's, reported when the open reads it.
      folder.catch(() => undefined);
    }
    early.push(data);
  }
};
scope.addEventListener('message', hold);

import('./owner-service.js').then(
  ({ serve }) => {
    scope.removeEventListener('message', hold);
    serve(early, reducer, folder);
  },
  (error: unknown) => {
    scope.removeEventListener('message', hold);
    folder?.then(({ lock }) => lock?.close()).catch(() => undefined);
    const message = `the owner worker's code could not be loaded: ${error instanceof Error ? error.message : String(error)}`;
    const refuse = (data: ToOwnerWorker) => {
      if (data.type === 'open') scope.postMessage({ type: 'failed', error: { message } });
      else if (data.type === 'close') scope.postMessage({ type: 'closed' });
    };
    for (const data of early) refuse(data);
    scope.addEventListener('message', ({ data }) => refuse(data));
  },
);
