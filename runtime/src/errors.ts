// Errors a Tandem API hands to its caller: a closed set of string kinds with structured fields, so
// a caller can branch on `kind` and act on the fields (never on the message text).

export type TandemErrorKind =
  /** The reducer bytes are not a loadable Tandem reducer (see `reason` for the loader's kind). */
  | 'invalid-reducer'
  /** The reducer's `migrate` refused or trapped; the database was left at `fromVersion`. */
  | 'migration-failed'
  /** The database was migrated by a newer reducer than the one loaded. */
  | 'reducer-too-old'
  /** The document was closed; nothing more can be done with it. */
  | 'closed'
  /** An argument the caller passed cannot be used (e.g. a mutation that is not serializable). */
  | 'invalid-argument'
  /** The document's storage failed a write or sync; reopen the document to recover. */
  | 'storage-failed'
  /**
   * Syncing with the coordinator stopped for good (`reason`: `reducer-mismatch`, `history-reset`,
   * `document-failed` (the document's own storage failed while taking frames), `timeline-damaged` (the
   * coordinator took lsns this client's timeline no longer holds), `client-unavailable` (the sync
   * client's code could not be loaded), or the coordinator's refusal: `unauthorized`, `timeline-taken`, `unsupported-version`, `malformed`;
   * the SyncFailure is the `cause`). What was pending will not reach the coordinator: `fate` and
   * `synced` reject with it.
   */
  | 'sync-failed'
  /**
   * The document's files hold less than was acknowledged (damaged, truncated or deleted): `file`,
   * `recordOffset`/`recordIndex` say where reading stopped, `framesExpected`/`framesReadable` how much
   * is missing. Nothing was changed; an operator must recover it (see the coordinator's `recover`).
   */
  | 'storage-corrupt'
  /**
   * A client cannot establish its timeline id (its copies disagree): it refuses to open rather than
   * push under another id mutations the coordinator may already have taken. Likewise its timeline
   * secret (`reason`: `secret-copies-disagree`, or `secret-lost` when every copy is unreadable).
   */
  | 'identity-lost'
  /**
   * A client's timeline lost mutations it had recorded (damaged files): `lost` of them, lsns
   * `fromLsn`..`toLsn`, none covered by the coordinator's marker in the base.
   */
  | 'timeline-damaged'
  /**
   * The document's folder is already open for writing (in this process, another thread or another
   * process: `holderPid` when known; `file` is the lock): two writers would give the same lsn to
   * different mutations and one would be lost while reported confirmed. Close the other first.
   */
  | 'document-locked'
  /**
   * Browser: the tab that hosted the document (its owner) went away while this mutation was on its way,
   * so whether it was recorded is unknown (query to see). Another tab takes over and later calls go
   * there; reads are retried for you. Safe to retry a mutation the reducer treats as idempotent.
   */
  | 'owner-lost'
  /**
   * Coordinator: another coordinator process holds this document's lease (a PostgreSQL store shared
   * by several coordinators), or this one lost it: it neither serves nor writes the document. Retry
   * after `retryAfterMs`, when the lease has been handed over or has expired, or at `ownerUrl` (the
   * holder's public URL, when it recorded one).
   */
  | 'document-owned';

export interface TandemErrorFields {
  readonly reason?: string;
  readonly fromVersion?: number;
  readonly toVersion?: number;
  readonly documentVersion?: number;
  readonly reducerVersion?: number;
  readonly file?: string;
  readonly recordOffset?: number;
  readonly recordIndex?: number;
  readonly framesExpected?: number;
  readonly framesReadable?: number;
  readonly lost?: number;
  readonly fromLsn?: number;
  readonly toLsn?: number;
  readonly holderPid?: number;
  readonly retryAfterMs?: number;
  /** `document-owned`: the public URL of the coordinator holding the lease, when it recorded one. */
  readonly ownerUrl?: string;
}

export class TandemError extends Error {
  override readonly name = 'TandemError';
  readonly kind: TandemErrorKind;
  readonly fields: TandemErrorFields;

  constructor(
    kind: TandemErrorKind,
    message: string,
    fields: TandemErrorFields = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.kind = kind;
    this.fields = fields;
  }
}
