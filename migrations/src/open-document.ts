// Opening a local document: a replica in memory, brought to its reducer's schema version before
// anything else can touch it. Hosts add where the reducer's bytes come from (a file, a URL).

import {
  type Frame,
  LocalDocument,
  loadReducer,
  ReducerLoadError,
  type ReducerModule,
  Replica,
  TandemError,
} from '@tandem/runtime';
import { ensureSchema } from './schema-version.js';

export interface LocalDocumentOptions {
  readonly docId: string;
  readonly reducer: ReducerModule;
  readonly timelineId: string;
  /** Called after each commit that changed pages, with the frame it produced. */
  readonly onFrame?: (frame: Frame) => void;
  /** Receives the reducer's `log` calls. */
  readonly onLog?: (level: string, message: string) => void;
}

export async function openLocalDocument(options: LocalDocumentOptions): Promise<LocalDocument> {
  const replica = await Replica.open({
    name: options.docId,
    reducer: options.reducer,
    ...(options.onFrame && { onFrame: options.onFrame }),
    ...(options.onLog && { onLog: options.onLog }),
  });
  try {
    return new LocalDocument(options.docId, options.timelineId, replica, ensureSchema(replica));
  } catch (error) {
    replica.close();
    throw error;
  }
}

/** Loads reducer bytes, turning a refusal into an `invalid-reducer` error that says where they came from. */
export async function loadReducerFrom(bytes: Uint8Array, where: string): Promise<ReducerModule> {
  try {
    return await loadReducer(bytes);
  } catch (error) {
    if (error instanceof ReducerLoadError) {
      throw new TandemError('invalid-reducer', `${where}: ${error.message}`, { reason: error.kind });
    }
    throw error;
  }
}
