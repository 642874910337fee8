// Opens local documents in Node: the reducer comes from a file path (or its bytes).

import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { type LocalDocumentOptions, loadReducerFrom, openLocalDocument } from '@tandem/migrations';
import { type LocalDocument, type ReducerModule, TandemError } from '@tandem/runtime';

export interface OpenDocumentOptions extends Omit<LocalDocumentOptions, 'reducer' | 'timelineId'> {
  /** A path to a built reducer component (`tandem build` output), its bytes, or a loaded module. */
  readonly reducer: string | URL | Uint8Array | ReducerModule;
  /** This client's timeline; a new random id by default. */
  readonly timelineId?: string;
}

export async function openDocument(options: OpenDocumentOptions): Promise<LocalDocument> {
  return openLocalDocument({
    ...options,
    reducer: await resolveReducer(options.reducer),
    timelineId: options.timelineId ?? randomUUID(),
  });
}

async function resolveReducer(source: OpenDocumentOptions['reducer']): Promise<ReducerModule> {
  if (source instanceof Uint8Array) return loadReducerFrom(source, 'reducer');
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
  return loadReducerFrom(bytes, String(source));
}
