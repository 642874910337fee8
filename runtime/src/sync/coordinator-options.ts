// How a host's `openDocument` is told to sync with a coordinator, and the start of that sync.
import type { ReducerLimits } from '../reducer/limits.js';
import { type CoordinatorOptions, checkCoordinatorOptions } from './coordinator-check.js';
import { coordinatorHttpRoot, fetchOfferedReducer } from './reducer-offer.js';
import { SyncClient, type SyncOptions, type SyncTarget } from './sync-client.js';

export { type CoordinatorOptions, checkCoordinatorOptions } from './coordinator-check.js';

/**
 * Starts syncing `document` when `options` name a coordinator, over the host's WebSocket (`connect`).
 * A welcome naming another reducer is negotiated (sync-client.ts S8) with the coordinator's reducers,
 * fetched from its HTTP side and loaded under `limits` (the document's reducer's).
 */
export function syncWithCoordinator(
  document: SyncTarget & { attachSync(client: SyncClient): void },
  reducerHash: string,
  options: CoordinatorOptions,
  connect: SyncOptions['connect'],
  limits: Partial<ReducerLimits> = {},
): void {
  const { coordinatorUrl, token, sync } = options;
  if (coordinatorUrl === undefined) return;
  checkCoordinatorOptions(options);
  const client: SyncClient = new SyncClient(document, {
    url: coordinatorUrl,
    connect,
    reducerHash,
    // From the coordinator whose welcome offered it.
    offered: (hash) => fetchOfferedReducer(coordinatorHttpRoot(client.coordinatorUrl), hash, limits),
    ...(token !== undefined && { token }),
    ...sync,
  });
  document.attachSync(client);
}
