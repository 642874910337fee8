// Opens local documents inside a browser worker: fetches the reducer component from a URL (or takes
// its bytes), opens a replica in memory and brings its schema to the reducer's version. Persistence
// (OPFS), the SharedWorker and the tab-facing API come with the sync issues.

import { ensureSchema } from '@tandem/migrations';
import {
  type Frame,
  LocalDocument,
  loadReducer,
  ReducerLoadError,
  type ReducerModule,
  Replica,
  TandemError,
} from '@tandem/runtime';

export interface OpenDocumentOptions {
  readonly docId: string;
  /** The URL of a built reducer component (served as is, e.g. by the coordinator), its bytes, or a loaded module. */
  readonly reducer: string | URL | Uint8Array | ReducerModule;
  /** This client's timeline; a new random id by default. */
  readonly timelineId?: string;
  /** Called after each commit that changed pages, with the frame it produced. */
  readonly onFrame?: (frame: Frame) => void;
  /** Receives the reducer's `log` calls. */
  readonly onLog?: (level: string, message: string) => void;
}

export async function openDocument(options: OpenDocumentOptions): Promise<LocalDocument> {
  const reducer = await resolveReducer(options.reducer);
  const replica = await Replica.open({
    name: options.docId,
    reducer,
    ...(options.onFrame && { onFrame: options.onFrame }),
    ...(options.onLog && { onLog: options.onLog }),
  });
  try {
    const migration = ensureSchema(replica);
    return new LocalDocument(options.docId, options.timelineId ?? crypto.randomUUID(), replica, migration);
  } catch (error) {
    replica.close();
    throw error;
  }
}

async function resolveReducer(source: OpenDocumentOptions['reducer']): Promise<ReducerModule> {
  if (!(typeof source === 'string' || source instanceof URL || source instanceof Uint8Array)) return source;
  let bytes: Uint8Array;
  if (source instanceof Uint8Array) bytes = source;
  else {
    const response = await fetch(source).catch((error: unknown) => {
      throw new TandemError(
        'invalid-reducer',
        `cannot fetch the reducer at ${String(source)}: ${String(error)}`,
        {
          reason: 'unreadable',
        },
      );
    });
    if (!response.ok) {
      throw new TandemError(
        'invalid-reducer',
        `fetching the reducer at ${String(source)} gave HTTP ${response.status}`,
        {
          reason: 'unreadable',
        },
      );
    }
    bytes = new Uint8Array(await response.arrayBuffer());
  }
  try {
    return await loadReducer(bytes);
  } catch (error) {
    if (error instanceof ReducerLoadError) {
      const where = source instanceof Uint8Array ? 'reducer' : String(source);
      throw new TandemError('invalid-reducer', `${where}: ${error.message}`, { reason: error.kind });
    }
    throw error;
  }
}
