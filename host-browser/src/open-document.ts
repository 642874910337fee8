// Opens local documents inside a browser worker: the reducer comes from a URL (or its bytes).
// Sync with a coordinator goes through the browser's WebSocket. Persistence (OPFS), the SharedWorker and
// the tab-facing API come with the browser host issue.

import { type LocalDocumentOptions, openLocalDocument } from '@tandem/migrations';
import {
  type CoordinatorOptions,
  checkCoordinatorOptions,
  documentFolderName,
  type LocalDocument,
  loadSqlite,
  type ReducerLimits,
  type ReducerModule,
  syncWithCoordinator,
  TandemError,
} from '@tandem/runtime';
import { OpfsByteStore } from './opfs-byte-store.js';
import { resolveReducer } from './reducer-source.js';

export interface OpenDocumentOptions
  extends Omit<LocalDocumentOptions, 'reducer' | 'timelineId' | 'storage' | 'closeStorage'>,
    CoordinatorOptions {
  /**
   * The URL of a prepared reducer (the coordinator's `/reducers/<sha256>.wasm`, named by
   * `GET /reducers/current`), its bytes, or a loaded module. A component is refused (`not-prepared`).
   */
  readonly reducer: string | URL | Uint8Array | ReducerModule;
  /** This client's timeline; a new random id by default. */
  readonly timelineId?: string;
  /**
   * The reducer's budgets (fuel, SQL steps, memory, module size); DEFAULT_LIMITS for those left out.
   * Every host of a document must use the same ones. A loaded ReducerModule brings its own.
   */
  readonly limits?: Partial<ReducerLimits>;
  /**
   * Keep the document in the origin's private file system (OPFS, through synchronous access handles:
   * run it in a dedicated worker). Where OPFS is unavailable (private mode, no worker) the document
   * lives in memory and `onWarning` says so. In memory by default.
   */
  readonly persist?: boolean;
  /** Told when the document cannot be kept as asked; `console.warn` by default. */
  readonly onWarning?: (message: string) => void;
}

export function openDocument(options: OpenDocumentOptions): Promise<LocalDocument> {
  checkCoordinatorOptions(options);
  return openWithReducer(options, resolveReducer(options.reducer, options.limits ?? {}));
}

/**
 * openDocument with its reducer on the way (the owner worker fetches it before it is told to open).
 * sqlite-wasm's load (fetch and compile of its module, once per worker), the reducer's and the OPFS
 * folder's open run side by side; the replica awaits the same load.
 */
export async function openWithReducer(
  options: OpenDocumentOptions,
  loading: Promise<ReducerModule>,
): Promise<LocalDocument> {
  const { coordinatorUrl: _url, token: _token, sync: _sync, persist, onWarning, ...rest } = options;
  checkCoordinatorOptions(options);
  loadSqlite().catch(() => undefined);
  loading.catch(() => undefined);
  const files = persist === true ? await openFiles(options.docId, onWarning ?? console.warn) : undefined;
  let reducer: ReducerModule;
  try {
    reducer = await loading;
  } catch (error) {
    // The folder is let go at once: a start that is tried again (here or in another tab) finds it free.
    await files?.close().catch(() => undefined);
    throw error;
  }
  const document = await openLocalDocument({
    ...rest,
    reducer,
    timelineId: options.timelineId ?? crypto.randomUUID(),
    ...(files && { storage: files, closeStorage: () => files.close() }),
  });
  syncWithCoordinator(document, reducer.sha256, options, (url) => new WebSocket(url));
  return document;
}

/**
 * The document's OPFS folder, locked for this open (a second open is refused with `document-locked`),
 * or undefined (with a warning) where OPFS cannot be used.
 */
async function openFiles(docId: string, warn: (message: string) => void): Promise<OpfsByteStore | undefined> {
  if (!OpfsByteStore.supported) {
    warn(
      `document ${docId} is kept in memory only: this context has no OPFS synchronous access (private mode, or not a dedicated worker)`,
    );
    return undefined;
  }
  try {
    return await OpfsByteStore.open(['tandem', documentFolderName(docId)], { lock: true });
  } catch (error) {
    // Another open holds the document: a second writer (or a silent in-memory copy) is no way out.
    if (error instanceof TandemError && error.kind === 'document-locked') throw error;
    warn(
      `document ${docId} is kept in memory only: OPFS refused (${error instanceof Error ? error.message : String(error)})`,
    );
    return undefined;
  }
}
