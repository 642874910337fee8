// openDocument in a tab: the document lives in its owner (owner-link.ts); this tab holds a
// TandemDocument that forwards each call and hears its subscriptions and the status.
//
// Invariants:
// 1. Across a change of owner the tab's subscriptions and status listener carry on: the new owner is
//    subscribed again, and a listener hears rows only when they differ from the last it heard. One owner
//    sends a subscription's rows only when they differ (reactive/subscriptions.ts), so the tab compares
//    only the first rows a new owner sends with the last heard, and passes the others on as they come.
// 2. No call waits on a dead owner: a call in flight when the owner went away is sent again to the
//    next owner when it only reads; a mutation rejects with `owner-lost` (it may have been recorded).
//    A call the owner refused as `closed` (it was handing the document over) recorded nothing: it goes
//    to the next owner, mutation or not.
// 3. After `close` every call rejects with `closed`; mutations already sent are answered first.
// 4. While no owner runs because starting one failed for a reason retrying may cure (offline with the
//    worker's script not cached, the server down), the document is not failed: calls wait for whichever
//    owner starts next, and the status says `offline` with `lastDrop` saying why. Only a final refusal
//    (owner-start.ts) fails it for good.
import type {
  ArrayRows,
  MutateOptions,
  MutationFate,
  MutationResult,
  QueryOptions,
  ReducerIdentity,
  ReducerUpgrade,
  RejectedMutation,
  Row,
  SubscribeOptions,
} from '@tandem/runtime';
import { TandemError } from '@tandem/runtime/errors';
import type { Remote } from 'comlink';
import { type Connection, type OwnerLink, openOwnerLink, sharedOwnersAvailable } from './owner-link.js';
import type { ClientSink, DocumentService, OwnerConfig, OwnerStatus } from './owner-protocol.js';
import type { DocumentStatus, OpenDocumentOptions, QueryParams, TandemDocument } from './tab-api.js';
import { sameResult } from './values-key.js';
import './wire-errors.js';

/**
 * Opens `options.docId` for this tab. All tabs of the origin that open it share one owner (one SQLite,
 * one WebSocket, the OPFS files): the first tab hosts it, and another takes over when that tab closes.
 * The owner opens the document with its own tab's options (it checks `coordinatorUrl`): tabs of an
 * origin open a document alike. This module imports nothing of the runtime but its errors, so a tab's
 * bundle holds no SQLite.
 */
export async function openDocument(options: OpenDocumentOptions): Promise<TandemDocument> {
  const config = ownerConfig(options, sharedOwnersAvailable());
  const document = new RemoteDocument(config.docId, openOwnerLink(config));
  await document.ready();
  return document;
}

function ownerConfig(options: OpenDocumentOptions, shared: boolean): OwnerConfig {
  if (typeof options.docId !== 'string' || options.docId === '') {
    throw new TandemError('invalid-argument', 'docId must be a non-empty string');
  }
  if (typeof options.reducer !== 'string' && !(options.reducer instanceof URL)) {
    throw new TandemError('invalid-argument', 'reducer must be the URL of a built reducer');
  }
  return {
    docId: options.docId,
    reducer: new URL(options.reducer, globalThis.location?.href).href,
    persist: options.persist ?? true,
    shared,
    ...(options.coordinatorUrl !== undefined && { coordinatorUrl: options.coordinatorUrl }),
    ...(options.redirectOrigins !== undefined && { redirectOrigins: options.redirectOrigins }),
    ...(options.token !== undefined && { token: options.token }),
  };
}

interface Subscription {
  readonly sql: string;
  readonly params: QueryParams;
  /** The rows' shape (rowMode, integers), as the owner's document takes it. */
  readonly options: QueryOptions;
  readonly listener: (rows: Row[] | ArrayRows) => void;
  readonly onError: ((error: unknown) => void) | undefined;
  /** The rows the listener heard last (invariant 1). */
  heard: Row[] | ArrayRows | undefined;
  /** True until the current owner's first rows: those are compared with `heard` (invariant 1). */
  compare: boolean;
}

interface Waiter<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function waiter<T>(): Waiter<T> {
  let resolve: (value: T) => void = () => undefined;
  let reject: (error: unknown) => void = () => undefined;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

const LOST = Symbol('lost');
const never = new Promise<never>(() => undefined);

/** A `closed` refusal from the owner (this tab's document is open: it checks before sending). */
function ownerClosed(error: unknown): boolean {
  return error instanceof TandemError && error.kind === 'closed';
}

const INITIAL: OwnerStatus = {
  syncState: 'connecting',
  pendingCount: 0,
  online: true,
  rejections: [],
  persisted: false,
};

/** A TandemDocument over the owners its link connects to in turn (exported for its tests). */
export class RemoteDocument implements TandemDocument {
  readonly docId: string;
  readonly #link: OwnerLink;
  #connection: Connection | undefined;
  #next = waiter<Connection>();
  /** Settles once the document is usable: an owner answered, or is being waited for (invariant 4). */
  readonly #started = waiter<void>();
  #failure: unknown;
  #closed = false;
  readonly #closing = waiter<never>();
  readonly #subscriptions = new Map<number, Subscription>();
  #nextSubscription = 0;
  #ownerStatus: OwnerStatus = INITIAL;
  #status: DocumentStatus = { ...INITIAL, isOwner: false };
  readonly #statusListeners = new Set<(status: DocumentStatus) => void>();
  readonly #upgradeListeners = new Set<(upgrade: ReducerUpgrade) => void>();
  readonly #mutating = new Set<Promise<unknown>>();

  constructor(docId: string, link: OwnerLink) {
    this.docId = docId;
    this.#link = link;
    void this.#run();
  }

  /**
   * Resolves once the first owner answered, or once its start failed and is being retried (the status
   * says so); rejects (closing the link) when none could open for good.
   */
  async ready(): Promise<void> {
    try {
      await this.#started.promise;
    } catch (error) {
      await this.#link.close().catch(() => undefined);
      throw error;
    }
  }

  get status(): DocumentStatus {
    return this.#status;
  }

  onStatus(listener: (status: DocumentStatus) => void): () => void {
    this.#statusListeners.add(listener);
    return () => {
      this.#statusListeners.delete(listener);
    };
  }

  get reducer(): ReducerIdentity | undefined {
    return this.#status.reducer;
  }

  onUpgrade(listener: (upgrade: ReducerUpgrade) => void): () => void {
    this.#upgradeListeners.add(listener);
    return () => {
      this.#upgradeListeners.delete(listener);
    };
  }

  mutate(mutation: unknown, options?: MutateOptions): Promise<MutationResult> {
    return this.#mutation<MutationResult>((service) => service.mutate(mutation, options));
  }

  mutateBatch(mutations: readonly unknown[], options?: MutateOptions): Promise<MutationResult[]> {
    return this.#mutation<MutationResult[]>((service) => service.mutateBatch(mutations, options));
  }

  // The overloads of query and subscribe are TandemDocument's, written once there; one body serves them.
  readonly query = this.#query.bind(this) as TandemDocument['query'];
  readonly subscribe = this.#subscribe.bind(this) as TandemDocument['subscribe'];

  #query(sql: string, params?: QueryParams, options?: QueryOptions): Promise<Row[] | ArrayRows> {
    return this.#call<Row[] | ArrayRows>(async (service) => service.query(sql, params, options), true);
  }

  fate(lsn: number): Promise<MutationFate> {
    return this.#call<MutationFate>((service) => service.fate(lsn), true);
  }

  synced(): Promise<void> {
    return this.#call((service) => service.synced(), true);
  }

  caughtUp(): Promise<void> {
    return this.#call((service) => service.caughtUp(), true);
  }

  rejections(): Promise<RejectedMutation[]> {
    return this.#call((service) => service.rejections(), true);
  }

  pageHash(): Promise<string> {
    return this.#call((service) => service.pageHash(), true);
  }

  goOffline(): Promise<void> {
    return this.#call((service) => service.goOffline(), true);
  }

  goOnline(): Promise<void> {
    return this.#call((service) => service.goOnline(), true);
  }

  #subscribe(
    sql: string,
    params: QueryParams,
    listener: ((rows: Row[]) => void) | ((result: ArrayRows) => void),
    last?: ((error: unknown) => void) | SubscribeOptions,
  ): () => void {
    this.#assertUsable();
    const { onError, ...options } = typeof last === 'function' ? { onError: last } : (last ?? {});
    const id = this.#nextSubscription++;
    this.#subscriptions.set(id, {
      sql,
      params,
      options,
      listener: listener as (rows: Row[] | ArrayRows) => void,
      onError,
      heard: undefined,
      compare: false,
    });
    if (this.#connection !== undefined) this.#subscribeAt(this.#connection, id);
    return () => {
      if (!this.#subscriptions.delete(id)) return;
      this.#connection?.service.unsubscribe(id).catch(() => undefined);
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await Promise.allSettled([...this.#mutating]);
    if (this.#closed) return;
    this.#closed = true;
    const closed = closedError(this.docId);
    this.#next.reject(closed);
    this.#started.reject(closed);
    this.#closing.reject(closed);
    const connection = this.#connection;
    this.#connection = undefined;
    this.#subscriptions.clear();
    if (connection !== undefined) {
      await Promise.race([connection.service.detach(), connection.lost]).catch(() => undefined);
    }
    await this.#link.close();
    this.#setStatus({ ...this.#ownerStatus, syncState: 'closed' }, false);
  }

  /** Connects to each owner in turn, until closed or no owner could open. */
  async #run(): Promise<void> {
    while (!this.#closed) {
      const heard = { gone: false };
      let connection: Connection;
      try {
        connection = await this.#link.connect(this.#sink(heard), (reason) => this.#startFailed(reason));
      } catch (error) {
        this.#fail(error);
        return;
      }
      if (this.#closed) {
        await Promise.race([connection.service.detach(), connection.lost]).catch(() => undefined);
        return;
      }
      this.#connection = connection;
      this.#setStatus(connection.status, connection.isOwner);
      for (const id of this.#subscriptions.keys()) this.#subscribeAt(connection, id);
      this.#next.resolve(connection);
      this.#started.resolve();
      await Promise.race([connection.lost, this.#closing.promise.catch(() => undefined)]);
      heard.gone = true;
      if (this.#closed) return;
      this.#connection = undefined;
      this.#next = waiter();
      this.#setStatus({ ...this.#ownerStatus, syncState: 'connecting' }, false);
    }
  }

  /** What one connection's owner pushes; ignored once that owner is gone. */
  #sink(heard: { gone: boolean }): ClientSink {
    return {
      rows: (id, rows) => {
        const subscription = this.#subscriptions.get(id);
        if (heard.gone || subscription === undefined) return;
        const compare = subscription.compare;
        subscription.compare = false;
        if (compare && subscription.heard !== undefined && sameResult(rows, subscription.heard)) return;
        subscription.heard = rows;
        subscription.listener(rows);
      },
      error: (id, error) => {
        if (!heard.gone) this.#subscriptions.get(id)?.onError?.(error);
      },
      status: (status) => {
        if (!heard.gone && !this.#closed) this.#setStatus(status, this.#status.isOwner);
      },
    };
  }

  #subscribeAt(connection: Connection, id: number): void {
    const subscription = this.#subscriptions.get(id);
    if (subscription === undefined) return;
    subscription.compare = true;
    const { sql, params, options } = subscription;
    connection.service.subscribe(id, sql, params, options).catch((error: unknown) => {
      // An owner closing (handing over) subscribes nothing: the next owner is subscribed again.
      if (!ownerClosed(error)) subscription.onError?.(error);
    });
  }

  #setStatus(owner: OwnerStatus, isOwner: boolean): void {
    const before = this.#status.upgraded;
    this.#ownerStatus = owner;
    this.#status = { ...owner, isOwner };
    for (const listener of [...this.#statusListeners]) listener(this.#status);
    // The owner's upgrades reach the tab through its status: a new `upgraded` is an upgrade heard.
    const upgrade = owner.upgraded;
    if (upgrade !== undefined && (before === undefined || before.to.hash !== upgrade.to.hash)) {
      for (const listener of [...this.#upgradeListeners]) listener(upgrade);
    }
  }

  /** This tab could not start the owner and will try again (invariant 4). */
  #startFailed(reason: string): void {
    if (this.#closed || this.#connection !== undefined) return;
    this.#setStatus({ ...this.#ownerStatus, syncState: 'offline', lastDrop: reason }, false);
    this.#started.resolve();
  }

  #fail(error: unknown): void {
    this.#failure = error;
    this.#next.reject(error);
    this.#started.reject(error);
    const syncError =
      error instanceof TandemError
        ? { kind: error.kind, message: error.message }
        : { kind: 'failed', message: error instanceof Error ? error.message : String(error) };
    this.#setStatus({ ...this.#ownerStatus, syncState: 'failed', syncError }, false);
  }

  #assertUsable(): void {
    if (this.#closed) throw closedError(this.docId);
    if (this.#failure !== undefined) throw this.#failure;
  }

  #mutation<T>(send: (service: Remote<DocumentService>) => Promise<T>): Promise<T> {
    const call = this.#call(send, false);
    this.#mutating.add(call);
    const done = () => this.#mutating.delete(call);
    call.then(done, done);
    return call;
  }

  /** Sends to the current owner (waiting for one); invariant 2 when it goes away meanwhile. */
  async #call<T>(send: (service: Remote<DocumentService>) => Promise<T>, reads: boolean): Promise<T> {
    for (;;) {
      this.#assertUsable();
      const connection = this.#connection ?? (await this.#next.promise);
      let refused = false;
      const outcome = await Promise.race([
        send(connection.service).then(
          (value) => ({ value }),
          (error: unknown) => {
            if (!ownerClosed(error)) throw error;
            // The owner closed its document (handing it over) before taking the call: nothing was
            // recorded, so the call goes to the next owner, once this one is gone.
            refused = true;
            return never;
          },
        ),
        connection.lost.then((): typeof LOST => LOST),
        this.#closing.promise,
      ]);
      if (outcome !== LOST) return outcome.value;
      if (!reads && !refused) {
        throw new TandemError(
          'owner-lost',
          `the tab hosting document ${this.docId} went away before the mutation was answered: it may or may not have been recorded`,
        );
      }
    }
  }
}

function closedError(docId: string): TandemError {
  return new TandemError('closed', `document ${docId} is closed`);
}
