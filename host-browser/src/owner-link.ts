// How a tab reaches the owner of a document. Where SharedWorker and Web Locks exist, every tab that
// opened the document stands for owner (a Web Lock per document); the elected tab starts the owner worker
// and registers it with the broker, and each tab (the owner's own included) gets a port to it through
// the broker. When the owner's tab closes, its locks are released: the next candidate starts a new owner
// (which reopens the persisted document), and every tab, watching the owner's generation lock, connects
// again. Elsewhere each tab runs its own owner worker (`SoloLink`).
//
// Invariant: at most one owner worker per document serves at a time, and it holds the document's OPFS
// lock (open-document.ts) — a new owner only opens once the old one's worker has let go of the files.
import { proxy, type Remote, wrap } from 'comlink';
import {
  type ClientSink,
  clientLockName,
  type DocumentService,
  type FromBroker,
  type FromOwnerWorker,
  generationLockName,
  type OwnerConfig,
  type OwnerStatus,
  ownerLockName,
  type ToBroker,
  type ToOwnerWorker,
} from './owner-protocol.js';
import { reviveError } from './wire-errors.js';

/** One tab's connection to one owner. */
export interface Connection {
  readonly service: Remote<DocumentService>;
  readonly generation: string;
  readonly status: OwnerStatus;
  /** Whether the owner runs in this tab. */
  readonly isOwner: boolean;
  /** Resolves when this owner is gone (closed, or its tab died); calls in flight then never answer. */
  readonly lost: Promise<void>;
}

export interface OwnerLink {
  /** A connection to the current owner (waiting for one); rejects when this tab was elected and could not open. */
  connect(sink: ClientSink): Promise<Connection>;
  close(): Promise<void>;
}

/** The shared mechanism needs both; without them each tab keeps its own owner. */
export function sharedOwnersAvailable(): boolean {
  return (
    typeof SharedWorker === 'function' && typeof navigator !== 'undefined' && navigator.locks !== undefined
  );
}

export function openOwnerLink(config: OwnerConfig): OwnerLink {
  return config.shared ? new SharedLink(config) : new SoloLink(config);
}

const never = new Promise<never>(() => undefined);

/** Owner workers this tab hosts, by generation. */
const hosted = new Map<string, Worker>();

function startOwnerWorker(docId: string): Worker {
  return new Worker(new URL('./owner-worker.js', import.meta.url), {
    type: 'module',
    name: `tandem owner: ${docId}`,
  });
}

function post(worker: Worker, message: ToOwnerWorker, transfer: Transferable[] = []): void {
  worker.postMessage(message, transfer);
}

/** Resolves with the worker's next answer of `type` (or its failure to open). */
function answer(worker: Worker, type: 'opened' | 'closed'): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = ({ data }: MessageEvent<FromOwnerWorker>) => {
      if (data.type === type) resolve();
      else if (data.type === 'failed') reject(reviveError(data.error));
      else return;
      worker.removeEventListener('message', onMessage);
    };
    worker.addEventListener('message', onMessage);
    worker.addEventListener(
      'error',
      (event) =>
        reject(
          new Error(
            `the owner worker failed: ${event.message || 'its script could not be loaded (offline, or the server is down)'}`,
          ),
        ),
      {
        once: true,
      },
    );
  });
}

async function openOwner(worker: Worker, config: OwnerConfig, generation: string): Promise<void> {
  const opened = answer(worker, 'opened');
  post(worker, { type: 'open', config, generation });
  await opened;
}

/** Lets the worker close the document (flushing its files), then ends it; a stuck close is cut short. */
async function closeOwner(worker: Worker): Promise<void> {
  const closed = answer(worker, 'closed').catch(() => undefined);
  post(worker, { type: 'close' });
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 5_000))]);
  worker.terminate();
}

/** Tells the owner worker when the network goes down or comes back, as the tab hears it. */
function followNetwork(worker: Worker): () => void {
  const listeners = (['online', 'offline'] as const).map((type) => {
    const listener = () => post(worker, { type: 'network', online: type === 'online' });
    globalThis.addEventListener(type, listener);
    return () => globalThis.removeEventListener(type, listener);
  });
  return () => {
    for (const remove of listeners) remove();
  };
}

let tabId: Promise<string> | undefined;

/** This tab's id, its lock held until the tab goes away (owners drop its subscriptions then). */
function clientId(): Promise<string> {
  tabId ??= new Promise<string>((resolve) => {
    const id = crypto.randomUUID();
    if (navigator.locks === undefined) {
      resolve(id);
      return;
    }
    navigator.locks
      .request(clientLockName(id), () => {
        resolve(id);
        return never;
      })
      .catch(() => undefined);
  });
  return tabId;
}

/** The tab's port to the broker SharedWorker (one per tab). */
class Broker {
  static #instance: Broker | undefined;
  readonly #port: MessagePort;
  #nextRequest = 0;
  readonly #routed = new Map<
    number,
    { readonly resolve: (generation: string) => void; readonly reject: (error: Error) => void }
  >();
  /** Set when the broker's script could not run: no connection will ever be routed. */
  #broken: Error | undefined;
  #hello: (broker: string) => void = () => undefined;
  #failed: (error: Error) => void = () => undefined;
  /** Which broker this is (its script's URL): the scope of the elections among its tabs. */
  readonly identity = new Promise<string>((resolve, reject) => {
    this.#hello = resolve;
    this.#failed = reject;
  });

  static get(): Broker {
    Broker.#instance ??= new Broker();
    return Broker.#instance;
  }

  private constructor() {
    const worker = new SharedWorker(new URL('./broker.js', import.meta.url), {
      type: 'module',
      name: 'tandem broker',
    });
    this.identity.catch(() => undefined);
    worker.addEventListener('error', () => {
      this.#broken = new Error('the Tandem broker (a SharedWorker) could not start');
      this.#failed(this.#broken);
      for (const { reject } of this.#routed.values()) reject(this.#broken);
      this.#routed.clear();
    });
    this.#port = worker.port;
    this.#port.addEventListener('message', ({ data }: MessageEvent<FromBroker>) => {
      if (data.type === 'hello') {
        this.#hello(data.broker);
      } else if (data.type === 'routed') {
        this.#routed.get(data.request)?.resolve(data.generation);
        this.#routed.delete(data.request);
      } else {
        const owner = hosted.get(data.generation);
        if (owner !== undefined) post(owner, { type: 'connect', port: data.port }, [data.port]);
        else data.port.close();
      }
    });
    this.#port.start();
  }

  send(message: ToBroker, transfer: Transferable[] = []): void {
    this.#port.postMessage(message, transfer);
  }

  /** A port to the owner of `docId` (once one is registered) and that owner's generation. */
  connect(docId: string): Promise<{ readonly port: MessagePort; readonly generation: string }> {
    const channel = new MessageChannel();
    const request = this.#nextRequest++;
    return new Promise((resolve, reject) => {
      if (this.#broken !== undefined) {
        reject(this.#broken);
        return;
      }
      this.#routed.set(request, {
        resolve: (generation) => resolve({ port: channel.port1, generation }),
        reject,
      });
      this.send({ type: 'connect', docId, request, port: channel.port2 }, [channel.port2]);
    });
  }
}

/**
 * This tab's candidacy for hosting `config.docId`'s owner: waits for the owner lock; once elected, holds
 * the generation lock, runs the owner worker and registers it, until `close` (or the tab's end).
 */
class Candidacy {
  readonly #config: OwnerConfig;
  readonly #broker: Broker;
  readonly #abort = new AbortController();
  #release: () => void = () => undefined;
  readonly #released = new Promise<void>((resolve) => {
    this.#release = resolve;
  });
  #serving: Promise<void> | undefined;
  #closed = false;
  /** Rejects when this tab was elected and could not open the document. */
  readonly failed: Promise<never>;

  constructor(config: OwnerConfig, broker: Broker, scope: string) {
    this.#config = config;
    this.#broker = broker;
    let fail: (error: unknown) => void = () => undefined;
    this.failed = new Promise<never>((_resolve, reject) => {
      fail = reject;
    });
    this.failed.catch(() => undefined);
    navigator.locks
      .request(ownerLockName(config.docId, scope), { signal: this.#abort.signal }, () => {
        this.#serving = this.#serve(fail);
        return this.#serving;
      })
      .catch(() => undefined);
  }

  async #serve(fail: (error: unknown) => void): Promise<void> {
    const { docId } = this.#config;
    const generation = crypto.randomUUID();
    let releaseGeneration: () => void = () => undefined;
    await new Promise<void>((held) => {
      navigator.locks
        .request(generationLockName(docId, generation), () => {
          held();
          return new Promise<void>((resolve) => {
            releaseGeneration = resolve;
          });
        })
        .catch(() => undefined);
    });
    const worker = startOwnerWorker(docId);
    try {
      await Promise.race([openOwner(worker, this.#config, generation), this.#released]);
    } catch (error) {
      worker.terminate();
      releaseGeneration();
      fail(error);
      return;
    }
    if (this.#closed) {
      await closeOwner(worker);
      releaseGeneration();
      return;
    }
    const unfollow = followNetwork(worker);
    hosted.set(generation, worker);
    this.#broker.send({ type: 'own', docId, generation });
    await this.#released;
    this.#broker.send({ type: 'disown', docId, generation });
    hosted.delete(generation);
    unfollow();
    await closeOwner(worker);
    releaseGeneration();
  }

  /** Leaves the election; an owner hosted here closes first (another tab takes over). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#release();
    this.#abort.abort();
    await this.#serving;
  }
}

/** Resolves once the owner `generation` lets go of its lock (closed, or its tab died). */
function generationLost(docId: string, generation: string, signal: AbortSignal): Promise<void> {
  return navigator.locks
    .request(generationLockName(docId, generation), { mode: 'shared', signal }, () => undefined)
    .then(
      () => undefined,
      () => never,
    );
}

class SharedLink implements OwnerLink {
  readonly #docId: string;
  readonly #broker = Broker.get();
  readonly #candidacy: Promise<Candidacy>;
  readonly #closing = new AbortController();

  constructor(config: OwnerConfig) {
    this.#docId = config.docId;
    this.#candidacy = this.#broker.identity.then((scope) => new Candidacy(config, this.#broker, scope));
    this.#candidacy.catch(() => undefined);
  }

  async connect(sink: ClientSink): Promise<Connection> {
    const id = await clientId();
    const candidacy = await this.#candidacy;
    for (;;) {
      const routed = await Promise.race([this.#broker.connect(this.#docId), candidacy.failed]);
      const { generation } = routed;
      const lost = generationLost(this.#docId, generation, this.#closing.signal);
      const service = wrap<DocumentService>(routed.port);
      const attached = await Promise.race([
        service.attach(id, proxy(sink)),
        lost.then(() => undefined),
        candidacy.failed,
      ]);
      if (attached !== undefined) {
        return { service, generation, status: attached.status, isOwner: hosted.has(generation), lost };
      }
      // Routed to an owner that died meanwhile: wait for the next one.
      this.#broker.send({ type: 'gone', docId: this.#docId, generation });
      routed.port.close();
    }
  }

  async close(): Promise<void> {
    this.#closing.abort();
    await (await this.#candidacy.catch(() => undefined))?.close();
  }
}

/** The owner in this tab alone (no SharedWorker or Web Locks): a second tab keeps the document in memory. */
class SoloLink implements OwnerLink {
  readonly #worker: Worker;
  readonly #generation = crypto.randomUUID();
  readonly #opened: Promise<void>;
  readonly #unfollow: () => void;

  constructor(config: OwnerConfig) {
    this.#worker = startOwnerWorker(config.docId);
    this.#opened = openOwner(this.#worker, config, this.#generation);
    this.#opened.catch(() => undefined);
    this.#unfollow = followNetwork(this.#worker);
  }

  async connect(sink: ClientSink): Promise<Connection> {
    await this.#opened;
    const channel = new MessageChannel();
    post(this.#worker, { type: 'connect', port: channel.port2 }, [channel.port2]);
    const service = wrap<DocumentService>(channel.port1);
    const { generation, status } = await service.attach(await clientId(), proxy(sink));
    return { service, generation, status, isOwner: true, lost: never };
  }

  async close(): Promise<void> {
    this.#unfollow();
    await closeOwner(this.#worker);
  }
}
