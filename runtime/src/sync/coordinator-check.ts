// What a host's `openDocument` is told of a coordinator, and its check before anything opens: apart
// from the sync client, so that a document opened without a coordinator loads none of the sync code.
import { TandemError } from '../errors.js';
import type { SyncOptions } from './sync-client.js';

/** What a host's `openDocument` takes to sync the document with a coordinator. */
export interface CoordinatorOptions {
  /**
   * The coordinator's sync endpoint (`ws://host:port/sync`): the document syncs with it, offline in
   * between. Or the endpoints of several coordinators sharing a store, each client in its own order:
   * tried in turn, their redirects to the document's owner followed (sync/coordinator-list.ts).
   */
  readonly coordinatorUrl?: string | readonly string[];
  /**
   * Origins a coordinator may redirect to besides those of `coordinatorUrl` (e.g. `wss://c3.example.com`);
   * any other redirect is refused (`redirect-refused`, sync/coordinator-list.ts L6).
   */
  readonly redirectOrigins?: readonly string[];
  /** Sent with `hello`; the coordinator's auth hook checks it per document. */
  readonly token?: string;
  /** Reconnect backoff and heartbeat (tests), and sync state changes. */
  readonly sync?: Pick<SyncOptions, 'backoffMs' | 'maxBackoffMs' | 'heartbeatMs' | 'onStateChange'>;
}

/**
 * Throws `invalid-argument` unless `coordinatorUrl` (when given) is a `ws:` or `wss:` URL, or a
 * non-empty list of them: a URL no socket can ever open would otherwise retry forever. Hosts call it
 * before opening anything.
 */
export function checkCoordinatorOptions(options: CoordinatorOptions): void {
  const { coordinatorUrl, redirectOrigins } = options;
  if (redirectOrigins !== undefined) {
    if (!Array.isArray(redirectOrigins)) {
      throw new TandemError('invalid-argument', 'redirectOrigins: a list of ws: or wss: origins');
    }
    for (const one of redirectOrigins) checkCoordinatorOptions({ coordinatorUrl: one as string });
  }
  if (coordinatorUrl === undefined) return;
  if (typeof coordinatorUrl !== 'string') {
    if (!Array.isArray(coordinatorUrl) || coordinatorUrl.length === 0) {
      throw new TandemError('invalid-argument', 'coordinatorUrl: a URL, or a non-empty list of URLs');
    }
    for (const one of coordinatorUrl) checkCoordinatorOptions({ coordinatorUrl: one as string });
    return;
  }
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
