// The owner: a dedicated worker, started by the tab elected to host the document, that opens it (SQLite,
// the reducer, the OPFS files through synchronous access handles, the WebSocket) and serves every tab
// of the origin, each through a DocumentService on its own port.
import { expose } from 'comlink';
import { DocumentService } from './document-service.js';
import { OwnedDocument } from './owned-document.js';
import type { FromOwnerWorker, ToOwnerWorker } from './owner-protocol.js';
import { describeError } from './wire-errors.js';

interface DedicatedWorkerScope {
  postMessage(message: FromOwnerWorker): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<ToOwnerWorker>) => void): void;
  addEventListener(type: 'online' | 'offline', listener: () => void): void;
}

const scope = globalThis as unknown as DedicatedWorkerScope;
let owned: Promise<OwnedDocument> | undefined;
let generation = '';

scope.addEventListener('message', ({ data: message }) => {
  switch (message.type) {
    case 'open':
      generation = message.generation;
      owned = OwnedDocument.open(message.config);
      owned.then(
        () => scope.postMessage({ type: 'opened' }),
        (error: unknown) => scope.postMessage({ type: 'failed', error: describeError(error) }),
      );
      return;
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
});

for (const event of ['online', 'offline'] as const) {
  scope.addEventListener(event, () => {
    owned?.then((document) => document.network(event === 'online')).catch(() => undefined);
  });
}
