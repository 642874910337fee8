// The owner: a dedicated worker, started by the tab elected to host the document, that opens it (SQLite,
// the reducer, the OPFS files through synchronous access handles, the WebSocket) and serves every tab
// of the origin, each through a DocumentService on its own port. Loaded by the worker's entry
// (owner-worker.ts), which hands over the messages that came while this module loaded.
import { expose } from 'comlink';
import { DocumentService } from './document-service.js';
import { loadSyncClient } from './open-document.js';
import type { LockedFolder } from './opfs-folder.js';
import { OwnedDocument } from './owned-document.js';
import type { FromOwnerWorker, Prefetched, ToOwnerWorker } from './owner-protocol.js';
import { reducerFromResponse } from './reducer-source.js';
import { describeError } from './wire-errors.js';

interface DedicatedWorkerScope {
  postMessage(message: FromOwnerWorker): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<ToOwnerWorker>) => void): void;
  addEventListener(type: 'online' | 'offline', listener: () => void): void;
}

/**
 * Serves the owner's messages: `early` first (in the order they came), then the worker's own. The
 * reducer the tab named in `prepare` (`fetched`: its response, asked for by the entry) is compiled now,
 * and the open uses it when it names the same URL; the sync client's code loads now when it will sync.
 * `folder`: the OPFS folder of the first `open` in `early`, whose open the entry started.
 */
export function serve(
  early: readonly ToOwnerWorker[],
  fetched: Prefetched | undefined,
  folder: Promise<LockedFolder> | undefined,
): void {
  let opening = folder;
  const scope = globalThis as unknown as DedicatedWorkerScope;
  let owned: Promise<OwnedDocument> | undefined;
  let generation = '';
  let prepared =
    fetched === undefined
      ? undefined
      : { url: fetched.url, reducer: reducerFromResponse(fetched.url, fetched.response) };
  prepared?.reducer.catch(() => undefined);
  if (fetched?.syncs === true) loadSyncClient().catch(() => undefined);

  const handle = (message: ToOwnerWorker): void => {
    switch (message.type) {
      case 'prepare':
        prepared = {
          url: message.reducer,
          reducer: reducerFromResponse(message.reducer, fetch(message.reducer)),
        };
        prepared.reducer.catch(() => undefined);
        if (message.syncs) loadSyncClient().catch(() => undefined);
        return;
      case 'open': {
        generation = message.generation;
        const reducer = prepared?.url === message.config.reducer ? prepared.reducer : undefined;
        owned = OwnedDocument.open(message.config, reducer, opening);
        opening = undefined;
        owned.then(
          () => scope.postMessage({ type: 'opened' }),
          (error: unknown) => scope.postMessage({ type: 'failed', error: describeError(error) }),
        );
        return;
      }
      case 'connect':
        if (owned !== undefined) expose(new DocumentService(owned, generation), message.port);
        return;
      case 'network':
        owned?.then((document) => document.network(message.online)).catch(() => undefined);
        return;
      case 'close':
        (owned ?? Promise.reject(new Error('never opened')))
          .then((document) => document.close())
          .catch(() => undefined)
          .finally(() => scope.postMessage({ type: 'closed' }));
        return;
    }
  };

  for (const message of early) handle(message);
  scope.addEventListener('message', ({ data }) => handle(data));
  for (const event of ['online', 'offline'] as const) {
    scope.addEventListener(event, () => {
      owned?.then((document) => document.network(event === 'online')).catch(() => undefined);
    });
  }
}
