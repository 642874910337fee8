// Opens local documents in Node: reads the reducer from a file path (or takes its bytes), opens a
// replica in memory and brings its schema to the reducer's version.

import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
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
  /** A path to a built reducer component (`tandem build` output), its bytes, or a loaded module. */
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
    return new LocalDocument(options.docId, options.timelineId ?? randomUUID(), replica, migration);
  } catch (error) {
    replica.close();
    throw error;
  }
}

async function resolveReducer(source: OpenDocumentOptions['reducer']): Promise<ReducerModule> {
  if (!(typeof source === 'string' || source instanceof URL || source instanceof Uint8Array)) return source;
  let bytes: Uint8Array;
  try {
    bytes = source instanceof Uint8Array ? source : await readFile(source);
  } catch (error) {
    throw new TandemError(
      'invalid-reducer',
      `cannot read the reducer at ${String(source)}: ${errorText(error)}`,
      {
        reason: 'unreadable',
      },
    );
  }
  try {
    return await loadReducer(bytes);
  } catch (error) {
    if (error instanceof ReducerLoadError) {
      throw new TandemError(
        'invalid-reducer',
        `${String(source instanceof Uint8Array ? 'reducer' : source)}: ${error.message}`,
        {
          reason: error.kind,
        },
      );
    }
    throw error;
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
