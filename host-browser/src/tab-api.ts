// The tab API: what a tab holds of a document that lives in its owner (a dedicated worker of one tab of
// the origin). Every method crosses to the owner; errors keep their TandemError `kind` and fields.
import type {
  ArrayQueryOptions,
  ArrayRows,
  MutateOptions,
  MutationFate,
  MutationResult,
  PlainValue,
  QueryOptions,
  ReducerIdentity,
  ReducerUpgrade,
  RejectedMutation,
  Row,
  SubscribeOptions,
  SyncStatus,
} from '@tandem/runtime';

export interface OpenDocumentOptions {
  readonly docId: string;
  /**
   * URL of the built, already-metered reducer (the coordinator serves it: GET /reducers/current →
   * {"sha256","url"}).
   */
  readonly reducer: string | URL;
  /**
   * ws(s)://host/sync; omitted → local only. Or the endpoints of several coordinators sharing a store
   * (each tab in its own order): tried in turn, their redirects to the document's owner followed.
   */
  readonly coordinatorUrl?: string | readonly string[];
  /**
   * Origins (`wss://host:port`) a coordinator may redirect to besides those of `coordinatorUrl`; a
   * redirect anywhere else is refused (`redirect-refused`) and the next coordinator of the list tried.
   */
  readonly redirectOrigins?: readonly string[];
  /** Sent with `hello`; the coordinator's auth hook checks it. */
  readonly token?: string;
  /**
   * Keep the document in OPFS (default true); where OPFS cannot be used it runs in memory and
   * `status.warning` says so (not a crash).
   */
  readonly persist?: boolean;
}

/**
 * The document's sync status (the runtime's SyncStatus: syncState, pendingCount, `online` — false after
 * `goOffline()`, the app's choice; the network's own state shows in `syncState` —, lastDrop, syncError,
 * rejections newest last), and where it lives.
 */
export interface DocumentStatus extends SyncStatus {
  /** Set when the document cannot be kept as asked, e.g. "kept in memory only: …". */
  readonly warning?: string;
  /** Whether the document is kept in OPFS. */
  readonly persisted: boolean;
  /** Whether this tab hosts the document's worker. */
  readonly isOwner: boolean;
}

export type QueryParams = readonly (PlainValue | boolean)[];

export interface TandemDocument {
  readonly docId: string;
  mutate(mutation: unknown, options?: MutateOptions): Promise<MutationResult>;
  mutateBatch(mutations: readonly unknown[], options?: MutateOptions): Promise<MutationResult[]>;
  /**
   * The rows now: objects keyed by column name, or with `{ rowMode: 'array' }` every column in order as
   * `{ columns, rows }`; `integers: 'auto' | 'bigint' | 'string'` says how INTEGER values come back.
   */
  query(sql: string, params?: QueryParams): Promise<Row[]>;
  query(sql: string, params: QueryParams, options: ArrayQueryOptions): Promise<ArrayRows>;
  query(sql: string, params: QueryParams, options?: QueryOptions): Promise<Row[]>;
  /**
   * Runs `sql` now and whenever its rows change; `listener` hears them first and then only when they
   * differ. The last argument is `onError`, or options (the shape `query` takes, and `onError`).
   * Returns the unsubscribe function.
   */
  subscribe(
    sql: string,
    params: QueryParams,
    listener: (rows: Row[]) => void,
    onError?: (error: unknown) => void,
  ): () => void;
  subscribe(
    sql: string,
    params: QueryParams,
    listener: (result: ArrayRows) => void,
    options: SubscribeOptions & { readonly rowMode: 'array' },
  ): () => void;
  subscribe(
    sql: string,
    params: QueryParams,
    listener: (rows: Row[]) => void,
    options: SubscribeOptions,
  ): () => void;
  fate(lsn: number): Promise<MutationFate>;
  synced(): Promise<void>;
  /** Resolves once this tab's document holds at least what the coordinator held when asked. */
  caughtUp(): Promise<void>;
  /** This client's rejected mutations with their reasons (and the mutation, while it is held). */
  rejections(): Promise<RejectedMutation[]>;
  pageHash(): Promise<string>;
  /** Stops syncing until `goOnline()` (mutations keep being accepted and wait). */
  goOffline(): Promise<void>;
  goOnline(): Promise<void>;
  /** The reducer the document runs (from the status; undefined until the owner answered). */
  readonly reducer: ReducerIdentity | undefined;
  /**
   * `listener` hears each move of the document to the coordinator's newer reducer (its owner fetched,
   * checked and loaded it, and reduced the pending mutations again under it), with the reducer before
   * and after; a tab that attaches after one hears it once. Returns the unsubscribe function.
   */
  onUpgrade(listener: (upgrade: ReducerUpgrade) => void): () => void;
  /** The last status heard (synchronous, for useSyncExternalStore). */
  readonly status: DocumentStatus;
  onStatus(listener: (status: DocumentStatus) => void): () => void;
  close(): Promise<void>;
}
