// The broker: a SharedWorker of the origin that hands each tab a MessagePort to the owner of a document
// (a dedicated worker in the tab elected by Web Lock). Ports travel tab → broker → owner's tab → owner;
// afterwards the tab and the owner talk directly. The broker keeps no document state.
//
// Invariant: `owners` holds at most one generation per document, the last that registered; a `disown`
// or `gone` for another generation changes nothing. A connection asked for while no owner is registered
// waits for the next one. A port routed to an owner that has just died is lost, and its tab (which
// watches the generation's Web Lock) says `gone` and asks again.
import type { FromBroker, ToBroker } from './owner-protocol.js';

interface Owner {
  readonly generation: string;
  readonly tab: MessagePort;
}

interface Waiting {
  readonly tab: MessagePort;
  readonly request: number;
  readonly port: MessagePort;
}

const owners = new Map<string, Owner>();
const waiting = new Map<string, Waiting[]>();

function send(to: MessagePort, message: FromBroker, transfer: Transferable[] = []): void {
  to.postMessage(message, transfer);
}

function route(owner: Owner, connection: Waiting): void {
  send(owner.tab, { type: 'connect', generation: owner.generation, port: connection.port }, [
    connection.port,
  ]);
  send(connection.tab, { type: 'routed', request: connection.request, generation: owner.generation });
}

function handle(tab: MessagePort, message: ToBroker): void {
  switch (message.type) {
    case 'own': {
      const owner = { generation: message.generation, tab };
      owners.set(message.docId, owner);
      const queued = waiting.get(message.docId) ?? [];
      waiting.delete(message.docId);
      for (const connection of queued) route(owner, connection);
      return;
    }
    case 'disown':
    case 'gone':
      if (owners.get(message.docId)?.generation === message.generation) owners.delete(message.docId);
      return;
    case 'connect': {
      const connection = { tab, request: message.request, port: message.port };
      const owner = owners.get(message.docId);
      if (owner !== undefined) route(owner, connection);
      else waiting.set(message.docId, [...(waiting.get(message.docId) ?? []), connection]);
      return;
    }
  }
}

interface SharedWorkerScope {
  addEventListener(type: 'connect', listener: (event: MessageEvent) => void): void;
}

(globalThis as unknown as SharedWorkerScope).addEventListener('connect', (event) => {
  const tab = event.ports[0];
  if (tab === undefined) return;
  tab.addEventListener('message', (message: MessageEvent<ToBroker>) => handle(tab, message.data));
  tab.start();
  send(tab, { type: 'hello', broker: (globalThis as unknown as { location: Location }).location.href });
});
