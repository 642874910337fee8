// How a host's `openDocument` is told to sync with a coordinator, and the start of that sync.
import { TandemError } from '../errors.js';
import { SyncClient, type SyncOptions, type SyncTarget } from './sync-client.js';

/** What a host's `openDocument` takes to sync the document with a coordinator. */
export interface CoordinatorOptions {
  /** The coordinator's sync endpoint (`ws://host:port/sync`): the document syncs with it, offline in between. */
  readonly coordinatorUrl?: string;
  /** Sent with `hello`; the coordinator's auth hook checks it per document. */
  readonly token?: string;
  /** Reconnect backoff and heartbeat (tests), and sync state changes. */
  readonly sync?: Pick<SyncOptions, 'backoffMs' | 'maxBackoffMs' | 'heartbeatMs' | 'onStateChange'>;
}

/**
 * Throws `invalid-argument` unless `coordinatorUrl` (when given) is a `ws:` or `wss:` URL: a URL no
 * socket can ever open would otherwise retry forever. Hosts call it before opening anything.
 */
export function checkCoordinatorOptions(options: CoordinatorOptions): void {
  const { coordinatorUrl } = options;
  if (coordinatorUrl === undefined) return;
  let url: URL;
  try {
    url = new URL(coordinatorUrl);
  } catch {
    throw new TandemError(
      'invalid-argument',
      `coordinatorUrl ${JSON.stringify(coordinatorUrl)} is not a URL`,
    );
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new TandemError(
      'invalid-argument',
      `coordinatorUrl ${JSON.stringify(coordinatorUrl)} must be a ws: or wss: URL (e.g. ws://localhost:8787/sync)`,
    );
  }
}

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
