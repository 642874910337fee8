// The tab API: what a tab holds of a document that lives in its owner (a dedicated worker of one tab of
// the origin). Every method crosses to the owner; errors keep their TandemError `kind` and fields.
import type {
  MutateOptions,
  MutationFate,
  MutationResult,
  PlainValue,
  Row,
  SyncState,
} from '@tandem/runtime';

export interface OpenDocumentOptions {
  readonly docId: string;
  /**
   * URL of the built, already-metered reducer (the coordinator serves it: GET /reducers/current →
   * {"sha256","url"}).
   */
  readonly reducer: string | URL;
  /** ws(s)://host/sync; omitted → local only. */
  readonly coordinatorUrl?: string;
  /** Sent with `hello`; the coordinator's auth hook checks it. */
  readonly token?: string;
  /**
   * Keep the document in OPFS (default true); where OPFS cannot be used it runs in memory and
   * `status.warning` says so (not a crash).
   */
  readonly persist?: boolean;
}

/** A mutation the reducer refused: locally (`final: false`) or by the coordinator (`final: true`). */
export interface Rejection {
  readonly lsn: number;
  readonly reason: string;
  /** True once the coordinator decided. */
  readonly final: boolean;
}

export interface DocumentStatus {
  readonly syncState: SyncState;
  /** Mutations the coordinator has not taken yet. */
  readonly pendingCount: number;
  /** False after `goOffline()` (the app's choice; the network's own state shows in `syncState`). */
  readonly online: boolean;
  /** Why the last connection to the coordinator ended while it retries. */
  readonly lastDrop?: string;
  /** Why syncing stopped for good (`syncState` is `failed`). */
  readonly syncError?: { readonly kind: string; readonly message: string };
  /** Newest last, bounded. */
  readonly rejections: readonly Rejection[];
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
  query(sql: string, params?: QueryParams): Promise<Row[]>;
  /**
   * Runs `sql` now and whenever its rows change; `listener` hears them first and then only when they
   * differ. Returns the unsubscribe function.
   */
  subscribe(
    sql: string,
    params: QueryParams,
    listener: (rows: Row[]) => void,
    onError?: (error: unknown) => void,
  ): () => void;
  fate(lsn: number): Promise<MutationFate>;
  synced(): Promise<void>;
  pageHash(): Promise<string>;
  /** Stops syncing until `goOnline()` (mutations keep being accepted and wait). */
  goOffline(): Promise<void>;
  goOnline(): Promise<void>;
  /** The last status heard (synchronous, for useSyncExternalStore). */
  readonly status: DocumentStatus;
  onStatus(listener: (status: DocumentStatus) => void): () => void;
  close(): Promise<void>;
}
