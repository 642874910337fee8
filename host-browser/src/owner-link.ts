// How a tab reaches the owner of a document. Where SharedWorker and Web Locks exist, every tab that
// opened the document stands for owner (a Web Lock per document); the elected tab starts the owner worker
// and registers it with the broker, and each tab (the owner's own included) gets a port to it through
// the broker. When the owner's tab closes, its locks are released: the next candidate starts a new owner
// (which reopens the persisted document), and every tab, watching the owner's generation lock, connects
// again. Elsewhere each tab runs its own owner worker (`SoloLink`).
//
// Invariants: at most one owner worker per document serves at a time, and it holds the document's OPFS
// lock (open-document.ts) — a new owner only opens once the old one's worker has let go of the files.
// An elected tab whose owner could not start for a reason retrying may cure (owner-start.ts) lets go of
// the election (another tab may try) and stands again after a backoff; only a final refusal fails the
// tab's connection.
import { proxy, type Remote, wrap } from 'comlink';
import { prestartOwnerWorker } from './owner-prestart.js';
import {
  type ClientSink,
  clientLockName,
  type DocumentService,
  type FromBroker,
  generationLockName,
  type OwnerConfig,
  type OwnerStatus,
  ownerLockName,
  type ToBroker,
} from './owner-protocol.js';
import {
  answer,
  post,
  StartBackoff,
  startFailureReason,
  startOwner,
  startOwnerWorker,
  startRetryable,
} from './owner-start.js';

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
  /**
   * A connection to the current owner, waiting for one: meanwhile `waiting` hears why, each time this
   * tab was elected and could not start the owner but will try again. Rejects when this tab could not
   * start it for good (a final refusal, owner-start.ts).
   */
  connect(sink: ClientSink, waiting?: (reason: string) => void): Promise<Connection>;
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

/** An owner worker started before the election is decided; `failed` once its script could not load. */
interface Spare {
  readonly worker: Worker;
  failed: boolean;
}

function startSpare(config: OwnerConfig): Spare {
  const spare = { worker: startOwnerWorker(config), failed: false };
  // A script that failed to load is not reused: its error fired before anyone listened.
  spare.worker.addEventListener('error', () => {
    spare.failed = true;
  });
  return spare;
}

/** An owner this tab started: told to open, so calls sent to it now are answered once it did. */
interface Hosted {
  readonly generation: string;
  readonly worker: Worker;
}

/** What `Candidacy#serve` made of a grant of the owner lock (or of its absence: `lost`). */
type Served = { readonly error: unknown } | 'lost' | undefined;

/**
 * This tab's candidacy for hosting `config.docId`'s owner: waits for the owner lock; once elected, holds
 * the generation lock, runs the owner worker and registers it, until `close` (or the tab's end). A start
 * that failed for a reason retrying may cure lets go of the owner lock and stands again after a backoff.
 * The first request does not wait: a tab that finds the lock held knows at once that another tab
 * hosts the owner, and ends its spare worker then, before it did anything but load.
 */
class Candidacy {
  readonly #config: OwnerConfig;
  readonly #broker: Broker;
  readonly #scope: string;
  readonly #retrying: (error: unknown) => void;
  readonly #abort = new AbortController();
  #release: () => void = () => undefined;
  readonly #released = new Promise<void>((resolve) => {
    this.#release = resolve;
  });
  readonly #standing: Promise<void>;
  #closed = false;
  /**
   * An owner worker started alongside the election, so its script loads while the lock is requested;
   * it opens no file until told to, so a tab that loses the election ends it unharmed.
   */
  #spare: Spare | undefined;
  #firstOwner: (hosted: Hosted | undefined) => void = () => undefined;
  /**
   * The owner this tab started when first elected, as soon as it was told to open; undefined when
   * another tab held the lock at first. This tab talks to it directly, not through the broker: its
   * first calls wait in the worker for the open, so no round trip follows it.
   */
  readonly firstOwner = new Promise<Hosted | undefined>((resolve) => {
    this.#firstOwner = resolve;
  });
  #fail: (error: unknown) => void = () => undefined;
  /** Rejects when this tab was elected and could not start the owner for good. */
  readonly failed = new Promise<never>((_resolve, reject) => {
    this.#fail = reject;
  });

  /** `retrying` hears each start that failed and will be tried again. */
  constructor(
    config: OwnerConfig,
    broker: Broker,
    scope: string,
    spare: Spare,
    retrying: (error: unknown) => void,
  ) {
    this.#config = config;
    this.#broker = broker;
    this.#scope = scope;
    this.#retrying = retrying;
    this.failed.catch(() => undefined);
    this.#spare = spare;
    this.#standing = this.#stand();
  }

  async #stand(): Promise<void> {
    const backoff = new StartBackoff();
    const name = ownerLockName(this.#config.docId, this.#scope);
    // `ifAvailable` cannot be aborted (it does not wait): only the first request asks it.
    let first = true;
    while (!this.#closed) {
      const options: LockOptions = first ? { ifAvailable: true } : { signal: this.#abort.signal };
      const failure: Served = await navigator.locks
        .request(name, options, (lock) => (lock === null ? 'lost' : this.#serve()))
        .catch(() => undefined);
      this.#firstOwner(undefined);
      first = false;
      if (failure === 'lost') {
        this.dropSpare();
        continue;
      }
      if (failure === undefined || this.#closed) return;
      // The owner lock is released: another tab may start the owner meanwhile.
      if (!startRetryable(failure.error)) {
        this.#fail(failure.error);
        return;
      }
      this.#retrying(failure.error);
      await backoff.wait(this.#abort.signal);
    }
  }

  /** Hosts the owner until `close`; says why when it could not start. */
  async #serve(): Promise<Served> {
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
    let worker: Worker;
    try {
      const spare = this.#spare;
      this.#spare = undefined;
      if (spare?.failed === true) spare.worker.terminate();
      const starting = spare?.failed === false ? spare.worker : startOwnerWorker(this.#config);
      // startOwner tells the worker to open before it returns: what this tab sends it next comes after.
      const started = startOwner(this.#config, generation, this.#released, starting);
      this.#firstOwner({ generation, worker: starting });
      worker = await started;
    } catch (error) {
      releaseGeneration();
      return { error };
    }
    if (this.#closed) {
      await closeOwner(worker);
      releaseGeneration();
      return undefined;
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
    return undefined;
  }

  /** Ends the spare owner worker: another tab's owner serves this one. */
  dropSpare(): void {
    this.#spare?.worker.terminate();
    this.#spare = undefined;
  }

  /** Leaves the election; an owner hosted here closes first (another tab takes over). */
  async close(): Promise<void> {
    this.#closed = true;
    this.dropSpare();
    this.#release();
    this.#abort.abort();
    await this.#standing;
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
  /** Hears this tab's failed starts while a connect waits. */
  #waiting: ((reason: string) => void) | undefined;

  constructor(config: OwnerConfig) {
    this.#docId = config.docId;
    // Started before the broker answers, so the owner's script loads alongside the broker and election.
    const spare = startSpare(config);
    this.#candidacy = this.#broker.identity.then(
      (scope) =>
        new Candidacy(config, this.#broker, scope, spare, (error) =>
          this.#waiting?.(startFailureReason(error)),
        ),
      (error: unknown) => {
        spare.worker.terminate();
        throw error;
      },
    );
    this.#candidacy.catch(() => undefined);
  }

  async connect(sink: ClientSink, waiting?: (reason: string) => void): Promise<Connection> {
    this.#waiting = waiting;
    try {
      return await this.#connect(sink);
    } finally {
      if (this.#waiting === waiting) this.#waiting = undefined;
    }
  }

  async #connect(sink: ClientSink): Promise<Connection> {
    const id = await clientId();
    const candidacy = await this.#candidacy;
    const local = await Promise.race([candidacy.firstOwner, candidacy.failed]);
    if (local !== undefined) {
      const connection = await this.#attachLocal(local, id, sink, candidacy);
      if (connection !== undefined) return connection;
    }
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
        if (!hosted.has(generation)) candidacy.dropSpare();
        return { service, generation, status: attached.status, isOwner: hosted.has(generation), lost };
      }
      // Routed to an owner that died meanwhile: wait for the next one.
      this.#broker.send({ type: 'gone', docId: this.#docId, generation });
      routed.port.close();
    }
  }

  /**
   * A connection to the owner this tab hosts, straight to its worker (no round trip through the
   * broker); undefined when it went away meanwhile.
   */
  async #attachLocal(
    local: Hosted,
    id: string,
    sink: ClientSink,
    candidacy: Candidacy,
  ): Promise<Connection | undefined> {
    const channel = new MessageChannel();
    post(local.worker, { type: 'connect', port: channel.port2 }, [channel.port2]);
    const lost = generationLost(this.#docId, local.generation, this.#closing.signal);
    const service = wrap<DocumentService>(channel.port1);
    const attached = await Promise.race([
      // Refused when the open failed: the candidacy tries again (or fails for good), as through the broker.
      service.attach(id, proxy(sink)).catch(() => undefined),
      lost.then(() => undefined),
      candidacy.failed,
    ]);
    if (attached !== undefined) {
      return { service, generation: local.generation, status: attached.status, isOwner: true, lost };
    }
    channel.port1.close();
    return undefined;
  }

  async close(): Promise<void> {
    this.#closing.abort();
    await (await this.#candidacy.catch(() => undefined))?.close();
  }
}

/**
 * The owner in this tab alone (no SharedWorker or Web Locks): a second tab keeps the document in memory.
 * A start that failed for a reason retrying may cure is tried again after a backoff.
 */
class SoloLink implements OwnerLink {
  readonly #config: OwnerConfig;
  readonly #generation = crypto.randomUUID();
  readonly #closing = new AbortController();
  #close: () => void = () => undefined;
  readonly #closed = new Promise<void>((resolve) => {
    this.#close = resolve;
  });
  readonly #worker: Promise<Worker>;
  #unfollow: () => void = () => undefined;
  #waiting: ((reason: string) => void) | undefined;

  constructor(config: OwnerConfig) {
    this.#config = config;
    this.#worker = this.#start();
    this.#worker.catch(() => undefined);
  }

  async #start(): Promise<Worker> {
    const backoff = new StartBackoff();
    for (;;) {
      try {
        const worker = await startOwner(this.#config, this.#generation, this.#closed);
        this.#unfollow = followNetwork(worker);
        return worker;
      } catch (error) {
        if (!startRetryable(error) || this.#closing.signal.aborted) throw error;
        this.#waiting?.(startFailureReason(error));
        await backoff.wait(this.#closing.signal);
        if (this.#closing.signal.aborted) throw error;
      }
    }
  }

  async connect(sink: ClientSink, waiting?: (reason: string) => void): Promise<Connection> {
    this.#waiting = waiting;
    const worker = await this.#worker.finally(() => {
      if (this.#waiting === waiting) this.#waiting = undefined;
    });
    const channel = new MessageChannel();
    post(worker, { type: 'connect', port: channel.port2 }, [channel.port2]);
    const service = wrap<DocumentService>(channel.port1);
    const { generation, status } = await service.attach(await clientId(), proxy(sink));
    return { service, generation, status, isOwner: true, lost: never };
  }

  async close(): Promise<void> {
    this.#closing.abort();
    this.#close();
    const worker = await this.#worker.catch(() => undefined);
    this.#unfollow();
    if (worker !== undefined) await closeOwner(worker);
  }
}

// What every first open in this tab waits for starts as soon as the tab imports host-browser (owner-prestart.ts).
prestartOwnerWorker();
if (typeof window !== 'undefined' && sharedOwnersAvailable()) Broker.get();
