// How a host's `openDocument` is told to sync with a coordinator, and the start of that sync.
import type { ReducerLimits } from '../reducer/limits.js';
import { type CoordinatorOptions, checkCoordinatorOptions } from './coordinator-check.js';
import type { ReducerNegotiation } from './negotiation.js';
import { SyncClient, type SyncOptions, type SyncTarget } from './sync-client.js';

export { type CoordinatorOptions, checkCoordinatorOptions } from './coordinator-check.js';

/**
 * Starts syncing `document` when `options` name a coordinator, over the host's WebSocket (`connect`).
 * A welcome naming another reducer is negotiated (sync-client.ts S8) under `negotiation`
 * (`@tandem/migrations`' reducerNegotiation, handed in by the host), the coordinator's reducers loaded
 * under `limits` (the document's reducer's).
 */
export function syncWithCoordinator(
  document: SyncTarget & { attachSync(client: SyncClient): void },
  reducerHash: string,
  options: CoordinatorOptions,
  connect: SyncOptions['connect'],
  negotiation: ReducerNegotiation,
  limits: Partial<ReducerLimits> = {},
): void {
  const { coordinatorUrl, redirectOrigins, token, sync } = options;
  if (coordinatorUrl === undefined) return;
  checkCoordinatorOptions(options);
  const client = new SyncClient(document, {
    url: coordinatorUrl,
    connect,
    reducerHash,
    negotiation,
    limits,
    ...(redirectOrigins !== undefined && { redirectOrigins }),
    ...(token !== undefined && { token }),
    ...sync,
  });
  document.attachSync(client);
}
