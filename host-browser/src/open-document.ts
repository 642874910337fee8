// Opens local documents inside a browser worker: the reducer comes from a URL (or its bytes).
// Sync with a coordinator goes through the browser's WebSocket. The sync client (`@tandem/runtime/sync`:
// the client, the protocol's codec and msgpack, with `@tandem/migrations/negotiation`: a chunk of their
// own) is imported only when a coordinator is named, so a local-only open never loads or compiles it, as in host-node's openDocument.

import { schemaLifecycle } from '@tandem/migrations';
import {
  type CoordinatorOptions,
  checkCoordinatorOptions,
  type LocalDocument,
  type LocalDocumentOptions,
  loadSqlite,
  openLocalDocument,
  type ReducerLimits,
  type ReducerModule,
  TandemError,
} from '@tandem/runtime/local';
import { OpfsByteStore } from './opfs-byte-store.js';
import { type LockedFolder, openDocumentFolder } from './opfs-folder.js';
import { resolveReducer } from './reducer-source.js';

export interface OpenDocumentOptions
  extends Omit<
      LocalDocumentOptions,
      'reducer' | 'keepReducer' | 'schema' | 'timelineId' | 'storage' | 'closeStorage'
    >,
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
 * SQLite's load (sqlite3.wasm's fetch and compile, once per worker), the reducer's and the OPFS
 * folder's open run side by side; the replica awaits the same load. `folder` is the document's folder
 * when its open already started (openDocumentFolder: the owner worker starts it as soon as it is told to open).
 */
export async function openWithReducer(
  options: OpenDocumentOptions,
  loading: Promise<ReducerModule>,
  folder?: Promise<LockedFolder>,
): Promise<LocalDocument> {
  const {
    coordinatorUrl: _url,
    token: _token,
    sync: _sync,
    redirectOrigins: _origins,
    persist,
    onWarning,
    ...rest
  } = options;
  checkCoordinatorOptions(options);
  loadSqlite().catch(() => undefined);
  loading.catch(() => undefined);
  // Before anything is locked: its failure (the chunk could not load) leaves nothing open.
  const syncing = options.coordinatorUrl === undefined ? undefined : loadSyncClient();
  syncing?.catch(() => undefined);
  const open = (started?: Promise<LockedFolder>) =>
    persist === true ? openFiles(options.docId, onWarning ?? console.warn, started) : undefined;
  let files = await open(folder);
  let reducer: ReducerModule;
  let sync: SyncClient | undefined;
  try {
    reducer = await loading;
    sync = await syncing;
  } catch (error) {
    // The folder is let go at once: a start that is tried again (here or in another tab) finds it free.
    await files?.close().catch(() => undefined);
    throw error;
  }
  const openWith = (module: ReducerModule, store: OpfsByteStore | undefined, keepReducer = false) =>
    openLocalDocument({
      ...rest,
      reducer: module,
      keepReducer,
      schema: schemaLifecycle,
      timelineId: options.timelineId ?? crypto.randomUUID(),
      ...(store && { storage: store, closeStorage: () => store.close() }),
    });
  let document: LocalDocument;
  try {
    document = await openWith(reducer, files);
  } catch (error) {
    // Files an upgrade left newer than the app's reducer: the coordinator's current one opens them.
    const newer =
      sync && (await sync.negotiation.newerReducerFor(error, options.coordinatorUrl, reducer.limits));
    if (newer === undefined) throw error;
    reducer = newer;
    // The refused open let the folder go: it is locked again.
    files = await open();
    // Not the app's: kept beside the files, so that the next open without the coordinator runs it.
    document = await openWith(reducer, files, true);
  }
  // The document's own reducer: the one an upgrade moved it to, kept beside its files, may open it.
  sync?.syncWithCoordinator(
    document,
    document.reducer.hash,
    options,
    (url) => new WebSocket(url),
    sync.negotiation.reducerNegotiation,
    reducer.limits,
  );
  return document;
}

type SyncClient = typeof import('@tandem/runtime/sync') & {
  readonly negotiation: typeof import('@tandem/migrations/negotiation');
};

let syncClient: Promise<SyncClient> | undefined;

/** The sync client's code, imported once per worker; the owner worker asks for it as soon as it knows a coordinator is named. */
export function loadSyncClient(): Promise<SyncClient> {
  syncClient ??= Promise.all([import('@tandem/runtime/sync'), import('@tandem/migrations/negotiation')]).then(
    ([client, negotiation]) => ({ ...client, negotiation }),
  );
  return syncClient;
}

/**
 * The document's OPFS folder, locked for this open (`folder`, when its open already started), or
 * undefined (with a warning) where OPFS cannot be used.
 */
async function openFiles(
  docId: string,
  warn: (message: string) => void,
  folder?: Promise<LockedFolder>,
): Promise<OpfsByteStore | undefined> {
  if (!OpfsByteStore.supported) {
    warn(
      `document ${docId} is kept in memory only: this context has no OPFS synchronous access (private mode, or not a dedicated worker)`,
    );
    return undefined;
  }
  try {
    return OpfsByteStore.inFolder(await (folder ?? openDocumentFolder(docId)));
  } catch (error) {
    // Another open holds the document: a second writer (or a silent in-memory copy) is no way out.
    if (error instanceof TandemError && error.kind === 'document-locked') throw error;
    warn(
      `document ${docId} is kept in memory only: OPFS refused (${error instanceof Error ? error.message : String(error)})`,
    );
    return undefined;
  }
}
