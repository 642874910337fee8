// What the tab, the broker (a SharedWorker) and the owner (a dedicated worker in one tab) say to each
// other. The document itself is reached through comlink: the owner exposes a DocumentService on a
// MessagePort per tab; the messages below only set those ports up.
import type {
  ArrayRows,
  MutateOptions,
  MutationFate,
  MutationResult,
  QueryOptions,
  RejectedMutation,
  Row,
} from '@tandem/runtime';
import type { ProxyMarked } from 'comlink';
import type { DocumentStatus, QueryParams } from './tab-api.js';
import type { WireError } from './wire-errors.js';

/** What the owner opens: the tab's options, with the reducer's URL made absolute. */
export interface OwnerConfig {
  readonly docId: string;
  readonly reducer: string;
  readonly coordinatorUrl?: string | readonly string[];
  readonly redirectOrigins?: readonly string[];
  readonly token?: string;
  readonly persist: boolean;
  /**
   * Whether tabs share this owner (SharedWorker and Web Locks). Without them each tab has its own, and
   * a tab that finds the files held by another keeps the document in memory (with a warning).
   */
  readonly shared: boolean;
}

export type DescribedError = WireError | { readonly message: string };

/** Tab → its owner worker. */
export type ToOwnerWorker =
  /**
   * First, as the worker starts: the reducer the open will name, fetched and compiled meanwhile, and
   * whether it will sync (its sync client's code is loaded meanwhile too). Opens nothing: a worker
   * told only this is ended unharmed when its tab is not elected.
   */
  | { readonly type: 'prepare'; readonly reducer: string; readonly syncs: boolean }
  | { readonly type: 'open'; readonly config: OwnerConfig; readonly generation: string }
  | { readonly type: 'connect'; readonly port: MessagePort }
  | { readonly type: 'network'; readonly online: boolean }
  | { readonly type: 'close' };

/** What the owner worker's entry started on `prepare`, before its service loaded. */
export interface Prefetched {
  readonly url: string;
  readonly response: Promise<Response>;
  readonly syncs: boolean;
}

/** Owner worker → its tab. */
export type FromOwnerWorker =
  | { readonly type: 'opened' }
  | { readonly type: 'failed'; readonly error: DescribedError }
  | { readonly type: 'closed' };

/** Tab → broker. */
export type ToBroker =
  /** This tab hosts `docId`'s owner now, as `generation`: route connections to it. */
  | { readonly type: 'own'; readonly docId: string; readonly generation: string }
  /** The owner `generation` closed (only that one: a newer owner may have registered already). */
  | { readonly type: 'disown'; readonly docId: string; readonly generation: string }
  /** A port to the owner of `docId`, answered with `routed` once the broker sent it on. */
  | { readonly type: 'connect'; readonly docId: string; readonly request: number; readonly port: MessagePort }
  /** The owner `generation` is gone (its lock was released): hold connections until the next one. */
  | { readonly type: 'gone'; readonly docId: string; readonly generation: string };

/** Broker → tab. */
export type FromBroker =
  /** First, on every tab's port: which broker this is (its script's URL, so its build). */
  | { readonly type: 'hello'; readonly broker: string }
  | { readonly type: 'routed'; readonly request: number; readonly generation: string }
  /** For an owner this tab hosts: hand `port` to its worker. */
  | { readonly type: 'connect'; readonly generation: string; readonly port: MessagePort };

/** The status as the owner knows it; each tab adds whether it is the owner. */
export type OwnerStatus = Omit<DocumentStatus, 'isOwner'>;

/** What a tab hears from the owner, pushed (comlink proxy). */
export interface ClientSink {
  rows(subscription: number, rows: Row[] | ArrayRows): void;
  error(subscription: number, error: unknown): void;
  status(status: OwnerStatus): void;
}

/** One tab's connection to the owner (comlink, over a MessagePort). */
export interface DocumentService {
  /** Starts pushing to `sink`; the tab that holds the Web Lock `clientLockName(clientId)` is watched. */
  attach(
    clientId: string,
    sink: ClientSink & ProxyMarked,
  ): Promise<{ readonly generation: string; readonly status: OwnerStatus }>;
  mutate(mutation: unknown, options?: MutateOptions): Promise<MutationResult>;
  mutateBatch(mutations: readonly unknown[], options?: MutateOptions): Promise<MutationResult[]>;
  query(sql: string, params?: QueryParams, options?: QueryOptions): Promise<Row[] | ArrayRows>;
  fate(lsn: number): Promise<MutationFate>;
  synced(): Promise<void>;
  caughtUp(): Promise<void>;
  rejections(): Promise<RejectedMutation[]>;
  pageHash(): Promise<string>;
  goOffline(): Promise<void>;
  goOnline(): Promise<void>;
  subscribe(subscription: number, sql: string, params: QueryParams, options?: QueryOptions): Promise<void>;
  unsubscribe(subscription: number): void;
  /** The tab is done with this connection: its subscriptions stop. */
  detach(): void;
}

/**
 * Held by the tab elected to host the document's owner among the tabs of one broker: tabs running
 * another build of this package have another broker, which could never route to this owner, so they
 * hold their own election (and their owner finds the files held: owned-document.ts).
 */
export const ownerLockName = (docId: string, broker: string): string => `tandem:owner:${broker}:${docId}`;
/** Held by the owner's tab while that owner serves: released when it closes or its tab dies. */
export const generationLockName = (docId: string, generation: string): string =>
  `tandem:generation:${docId}:${generation}`;
/** Held by a tab for its lifetime: the owner learns the tab is gone when it is released. */
export const clientLockName = (clientId: string): string => `tandem:client:${clientId}`;
