// How a host's `openDocument` is told to sync with a coordinator, and the start of that sync.
import { type CoordinatorOptions, checkCoordinatorOptions } from './coordinator-check.js';
import { SyncClient, type SyncOptions, type SyncTarget } from './sync-client.js';

export { type CoordinatorOptions, checkCoordinatorOptions } from './coordinator-check.js';

/** Starts syncing `document` when `options` name a coordinator, over the host's WebSocket (`connect`). */
export function syncWithCoordinator(
  document: SyncTarget & { attachSync(client: SyncClient): void },
  reducerHash: string,
  options: CoordinatorOptions,
  connect: SyncOptions['connect'],
): void {
  const { coordinatorUrl, token, sync } = options;
  if (coordinatorUrl === undefined) return;
  checkCoordinatorOptions(options);
  document.attachSync(
    new SyncClient(document, {
      url: coordinatorUrl,
      connect,
      reducerHash,
      ...(token !== undefined && { token }),
      ...sync,
    }),
  );
}
