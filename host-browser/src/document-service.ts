// One tab's connection to the owner, exposed with comlink on its own MessagePort. It pushes the tab's
// subscriptions' rows and the status through the tab's sink. Invariant: once detached (the tab said so,
// or the tab died — its client lock was released) nothing more is pushed to the tab.
import type {
  ArrayRows,
  MutateOptions,
  MutationFate,
  MutationResult,
  QueryOptions,
  RejectedMutation,
  Row,
} from '@tandem/runtime';
import { type Remote, releaseProxy } from 'comlink';
import type { OwnedDocument } from './owned-document.js';
import { type ClientSink, clientLockName, type OwnerStatus } from './owner-protocol.js';
import type { QueryParams } from './tab-api.js';
import './wire-errors.js';

/** A push the tab may never answer (it died): nobody waits on it. */
const ignore = (push: Promise<unknown>): void => {
  push.catch(() => undefined);
};

export class DocumentService {
  readonly #owned: Promise<OwnedDocument>;
  readonly #generation: string;
  #sink: Remote<ClientSink> | undefined;
  readonly #subscriptions = new Map<number, () => void>();
  #stopStatus: (() => void) | undefined;
  readonly #watch = new AbortController();
  #detached = false;

  constructor(owned: Promise<OwnedDocument>, generation: string) {
    this.#owned = owned;
    this.#generation = generation;
  }

  async attach(
    clientId: string,
    sink: Remote<ClientSink>,
  ): Promise<{ readonly generation: string; readonly status: OwnerStatus }> {
    const owned = await this.#owned;
    this.#sink = sink;
    this.#stopStatus = owned.onStatus((status) => {
      if (!this.#detached) ignore(sink.status(status));
    });
    // Granted once the tab holding it is gone (closed, crashed): its subscriptions end with it.
    navigator.locks
      .request(clientLockName(clientId), { signal: this.#watch.signal }, () => this.detach())
      .catch(() => undefined);
    return { generation: this.#generation, status: owned.status };
  }

  async mutate(mutation: unknown, options?: MutateOptions): Promise<MutationResult> {
    return (await (await this.#owned).mutateBatch([mutation], options))[0]!;
  }

  async mutateBatch(mutations: readonly unknown[], options?: MutateOptions): Promise<MutationResult[]> {
    return (await this.#owned).mutateBatch(mutations, options);
  }

  async query(sql: string, params?: QueryParams, options?: QueryOptions): Promise<Row[] | ArrayRows> {
    return (await this.#owned).document.query(sql, params ?? [], options);
  }

  async fate(lsn: number): Promise<MutationFate> {
    return (await this.#owned).document.fate(lsn);
  }

  async synced(): Promise<void> {
    return (await this.#owned).document.synced();
  }

  async caughtUp(): Promise<void> {
    return (await this.#owned).document.caughtUp();
  }

  async rejections(): Promise<RejectedMutation[]> {
    return (await this.#owned).document.rejections();
  }

  async pageHash(): Promise<string> {
    return (await this.#owned).document.pageHash();
  }

  async goOffline(): Promise<void> {
    return (await this.#owned).goOffline();
  }

  async goOnline(): Promise<void> {
    return (await this.#owned).goOnline();
  }

  async subscribe(
    subscription: number,
    sql: string,
    params: QueryParams,
    options?: QueryOptions,
  ): Promise<void> {
    const owned = await this.#owned;
    const sink = this.#sink;
    if (sink === undefined || this.#detached) return;
    this.#subscriptions.get(subscription)?.();
    this.#subscriptions.set(
      subscription,
      owned.document.subscribe(
        sql,
        params,
        (rows: Row[] | ArrayRows) => {
          if (!this.#detached) ignore(sink.rows(subscription, rows));
        },
        {
          ...options,
          onError: (error) => {
            if (!this.#detached) ignore(sink.error(subscription, error));
          },
        },
      ),
    );
  }

  unsubscribe(subscription: number): void {
    this.#subscriptions.get(subscription)?.();
    this.#subscriptions.delete(subscription);
  }

  detach(): void {
    if (this.#detached) return;
    this.#detached = true;
    this.#watch.abort();
    for (const stop of this.#subscriptions.values()) stop();
    this.#subscriptions.clear();
    this.#stopStatus?.();
    this.#sink?.[releaseProxy]();
  }
}
