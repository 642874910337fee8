// Opens local documents inside a browser worker: the reducer comes from a URL (or its bytes).
// Sync with a coordinator goes through the browser's WebSocket. Persistence (OPFS), the SharedWorker and
// the tab-facing API come with the browser host issue.

import { type LocalDocumentOptions, loadReducerFrom, openLocalDocument } from '@tandem/migrations';
import {
  type LocalDocument,
  type ReducerLimits,
  type ReducerModule,
  SyncClient,
  type SyncState,
  TandemError,
} from '@tandem/runtime';

export interface OpenDocumentOptions extends Omit<LocalDocumentOptions, 'reducer' | 'timelineId'> {
  /** The URL of a built reducer component (served as is, e.g. by the coordinator), its bytes, or a loaded module. */
  readonly reducer: string | URL | Uint8Array | ReducerModule;
  /** This client's timeline; a new random id by default. */
  readonly timelineId?: string;
  /**
   * The reducer's budgets (fuel, SQL steps, memory, module size); DEFAULT_LIMITS for those left out.
   * Every host of a document must use the same ones. A loaded ReducerModule brings its own.
   */
  readonly limits?: Partial<ReducerLimits>;
  /** The coordinator's sync endpoint (`ws://host:port/sync`): the document syncs with it, offline in between. */
  readonly coordinatorUrl?: string;
  /** Sent with `hello`; the coordinator's auth hook checks it per document. */
  readonly token?: string;
  /** Reconnect backoff and heartbeat (tests), and sync state changes. */
  readonly sync?: {
    readonly backoffMs?: number;
    readonly heartbeatMs?: number;
    readonly onStateChange?: (state: SyncState) => void;
  };
}

export async function openDocument(options: OpenDocumentOptions): Promise<LocalDocument> {
  const { coordinatorUrl, token, sync, ...rest } = options;
  const reducer = await resolveReducer(options.reducer, options.limits ?? {});
  const document = await openLocalDocument({
    ...rest,
    reducer,
    timelineId: options.timelineId ?? crypto.randomUUID(),
  });
  if (coordinatorUrl !== undefined) {
    document.attachSync(
      new SyncClient(document, {
        url: coordinatorUrl,
        connect: (url) => new WebSocket(url),
        reducerHash: reducer.sha256,
        ...(token !== undefined && { token }),
        ...(sync?.backoffMs !== undefined && { backoffMs: sync.backoffMs }),
        ...(sync?.heartbeatMs !== undefined && { heartbeatMs: sync.heartbeatMs }),
        ...(sync?.onStateChange && { onStateChange: sync.onStateChange }),
      }),
    );
  }
  return document;
}

async function resolveReducer(
  source: OpenDocumentOptions['reducer'],
  limits: Partial<ReducerLimits>,
): Promise<ReducerModule> {
  if (source instanceof Uint8Array) return loadReducerFrom(source, 'reducer', limits);
  if (typeof source !== 'string' && !(source instanceof URL)) return source;
  const unreadable = (why: string) =>
    new TandemError('invalid-reducer', `cannot fetch the reducer at ${String(source)}: ${why}`, {
      reason: 'unreadable',
    });
  const response = await fetch(source).catch((error: unknown) => {
    throw unreadable(String(error));
  });
  if (!response.ok) throw unreadable(`HTTP ${response.status}`);
  return loadReducerFrom(new Uint8Array(await response.arrayBuffer()), String(source), limits);
}
