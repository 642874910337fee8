// Opens local documents in Node: the reducer comes from a file path (or its bytes). A document kept in
// `dataDir` has one writer: its folder is locked from before the first read until it closes, and a
// second open is refused with `document-locked` (folder-lock.ts).

import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { schemaLifecycle } from '@tandem/migrations';
import {
  type CoordinatorOptions,
  checkCoordinatorOptions,
  documentFolderName,
  type LocalDocument,
  type LocalDocumentOptions,
  openLocalDocument,
  protocolLimits,
  type ReducerLimits,
  type ReducerModule,
  TandemError,
} from '@tandem/runtime/local';
import { loadReducerFrom } from '@tandem/runtime/prepare';
import { FsByteStore } from './fs-byte-store.js';
import { LazySocket } from './lazy-socket.js';
import { loadSqliteForBoot } from './sqlite-boot.js';

export interface OpenDocumentOptions
  extends Omit<
      LocalDocumentOptions,
      'reducer' | 'keepReducer' | 'schema' | 'timelineId' | 'storage' | 'closeStorage'
    >,
    CoordinatorOptions {
  /** A path to a built reducer component (`tandem build` output), its bytes, or a loaded module. */
  readonly reducer: string | URL | Uint8Array | ReducerModule;
  /** This client's timeline; a new random id by default (a reopened document keeps its own). */
  readonly timelineId?: string;
  /**
   * A folder to keep documents in (one sub-folder per document); the document is in memory only
   * without one (and without `storage`).
   */
  readonly dataDir?: string;
  /** Where to keep this document instead of `dataDir` (tests: memory and fault-injecting stores). */
  readonly storage?: LocalDocumentOptions['storage'];
  /**
   * The reducer's budgets (fuel, SQL steps, memory, module size); DEFAULT_LIMITS for those left out.
   * Every host of a document must use the same ones. A loaded ReducerModule brings its own.
   */
  readonly limits?: Partial<ReducerLimits>;
}

export async function openDocument(options: OpenDocumentOptions): Promise<LocalDocument> {
  const {
    dataDir,
    storage,
    limits,
    coordinatorUrl: _url,
    token: _token,
    sync: _sync,
    redirectOrigins: _origins,
    ...rest
  } = options;
  checkCoordinatorOptions(options);
  // SQLite's load (sqlite3.wasm compiled, once per process) runs while the reducer and the files
  // are read; the replica awaits the same load.
  loadSqliteForBoot().catch(() => undefined);
  // Locked before anything is read: a second writer of the folder would reuse lsns the first gave out.
  const lock = () =>
    dataDir === undefined
      ? Promise.resolve(undefined)
      : FsByteStore.open(documentFolder(dataDir, options.docId), { lock: true });
  // The first open's lock is taken while the reducer is read (both wait on the disk more than on this
  // thread), and released if the reducer cannot be loaded.
  let locking: Promise<FsByteStore | undefined> | undefined = lock();
  locking.catch(() => undefined);
  let reducer: ReducerModule;
  try {
    reducer = await resolveReducer(options.reducer, limits ?? {});
  } catch (error) {
    await (await locking.catch(() => undefined))?.close();
    throw error;
  }
  const open = async (module: ReducerModule, keepReducer = false): Promise<LocalDocument> => {
    const files = await (locking ?? lock());
    locking = undefined;
    const chosen = storage ?? files;
    return openLocalDocument({
      ...rest,
      reducer: module,
      keepReducer,
      schema: schemaLifecycle,
      timelineId: options.timelineId ?? randomUUID(),
      ...(chosen && { storage: chosen }),
      ...(files && { closeStorage: () => files.close() }),
    });
  };
  let running = reducer;
  let document: LocalDocument;
  try {
    document = await open(reducer);
  } catch (error) {
    // Files an upgrade left newer than the app's reducer: the coordinator's current one opens them.
    if (options.coordinatorUrl === undefined) throw error;
    const negotiation = await import('@tandem/migrations/negotiation');
    const newer = await negotiation.newerReducerFor(error, options.coordinatorUrl, reducer.limits);
    if (newer === undefined) throw error;
    running = newer;
    // Not the app's: kept beside the files, so that the next open without the coordinator runs it.
    document = await open(newer, true);
  }
  if (options.coordinatorUrl === undefined) return document;
  // The sync code (the client, the protocol's codec, msgpack; `ws` at the first connection) loads once
  // the document has answered from its pages: a first query answers within this turn, the sync code
  // loads in the next one. Until its client is attached the document reads as connecting, and what
  // waits on the coordinator waits (runtime sync-attachment.ts); if it cannot load, syncing fails
  // (`sync-failed`, reason `client-unavailable`).
  const opened = document;
  opened.expectSync(
    nextTurn()
      .then(() => Promise.all([import('@tandem/runtime/sync'), import('@tandem/migrations/negotiation')]))
      .then(([sync, negotiation]) =>
        sync.syncWithCoordinator(
          opened,
          // The document's own: the reducer an upgrade moved it to, kept beside its files, may open it.
          opened.reducer.hash,
          options,
          (url) => new LazySocket(url, { maxPayload: protocolLimits.MAX_MESSAGE_BYTES }),
          negotiation.reducerNegotiation,
          running.limits,
        ),
      ),
  );
  return document;
}

/** Resolves in the event loop's next turn, after whatever this one's microtasks do. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A document's folder: its id, with anything a file system could misread percent-encoded. */
export function documentFolder(dataDir: string, docId: string): string {
  return join(dataDir, documentFolderName(docId));
}

async function resolveReducer(
  source: OpenDocumentOptions['reducer'],
  limits: Partial<ReducerLimits>,
): Promise<ReducerModule> {
  if (source instanceof Uint8Array) return loadReducerFrom(source, 'reducer', limits);
  if (typeof source !== 'string' && !(source instanceof URL)) return source;
  let bytes: Uint8Array;
  try {
    bytes = await readFile(source);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new TandemError('invalid-reducer', `cannot read the reducer at ${String(source)}: ${why}`, {
      reason: 'unreadable',
    });
  }
  return loadReducerFrom(bytes, String(source), limits);
}
