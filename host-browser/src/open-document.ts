// Opens local documents inside a browser worker: the reducer comes from a URL (or its bytes).
// Persistence (OPFS), the SharedWorker and the tab-facing API come with the sync issues.

import { type LocalDocumentOptions, loadReducerFrom, openLocalDocument } from '@tandem/migrations';
import { type LocalDocument, type ReducerModule, TandemError } from '@tandem/runtime';

export interface OpenDocumentOptions extends Omit<LocalDocumentOptions, 'reducer' | 'timelineId'> {
  /** The URL of a built reducer component (served as is, e.g. by the coordinator), its bytes, or a loaded module. */
  readonly reducer: string | URL | Uint8Array | ReducerModule;
  /** This client's timeline; a new random id by default. */
  readonly timelineId?: string;
}

export async function openDocument(options: OpenDocumentOptions): Promise<LocalDocument> {
  return openLocalDocument({
    ...options,
    reducer: await resolveReducer(options.reducer),
    timelineId: options.timelineId ?? crypto.randomUUID(),
  });
}

async function resolveReducer(source: OpenDocumentOptions['reducer']): Promise<ReducerModule> {
  if (source instanceof Uint8Array) return loadReducerFrom(source, 'reducer');
  if (typeof source !== 'string' && !(source instanceof URL)) return source;
  const unreadable = (why: string) =>
    new TandemError('invalid-reducer', `cannot fetch the reducer at ${String(source)}: ${why}`, {
      reason: 'unreadable',
    });
  const response = await fetch(source).catch((error: unknown) => {
    throw unreadable(String(error));
  });
  if (!response.ok) throw unreadable(`HTTP ${response.status}`);
  return loadReducerFrom(new Uint8Array(await response.arrayBuffer()), String(source));
}
