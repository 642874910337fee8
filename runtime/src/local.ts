// The runtime without the sync protocol (its message schemas, codec and client): what a local document
// needs to open, read and write. `@tandem/runtime/local`; the package's root adds the protocol and sync.
export {
  APPLIED_TABLE,
  REJECTED_TABLE,
  REJECTIONS_KEPT,
  readAppliedLsn,
  readAppliedLsnAtOpen,
  readAppliedMarkers,
  readRejections,
  readTimelineBindings,
  writeAppliedMarkers,
  writeRejections,
} from './applied-marker.js';
export { applySequentially, type BatchTarget, type ReduceResult } from './apply.js';
export { concatBytes, toHex } from './bytes.js';
export { MAX_REJECTIONS_LISTED, type Rejection, type SyncStatus } from './document-status.js';
export { TandemError, type TandemErrorFields, type TandemErrorKind } from './errors.js';
export type { Frame, FramePage } from './frame.js';
export {
  type ArrayQueryOptions,
  type ArrayRows,
  type IntegerMode,
  LocalDocument,
  type LocalDocumentParts,
  type MigrationReport,
  type MutateOptions,
  type MutationFate,
  type MutationResult,
  type QueryOptions,
  type ReducerIdentity,
  type ReducerUpgrade,
  type RejectedMutation,
  type Row,
  type SubscribeOptions,
} from './local-document.js';
export { type LocalDocumentOptions, openLocalDocument, type SchemaLifecycle } from './open-local-document.js';
export * as protocolLimits from './protocol/limits.js';
export {
  decodePageDelta,
  encodePageDelta,
  encodeWireFrame,
  type PageReader,
  PageVersions,
} from './protocol/page-delta.js';
export {
  DEFAULT_LIMITS,
  declaredSchemaVersion,
  LIMIT_REASONS,
  type LimitKind,
  type LoadOptions,
  type LogLevel,
  loadPreparedReducer,
  type MutationEnvelope,
  type Outcome,
  type ReduceOptions,
  type ReducerImports,
  type ReducerInstance,
  type ReducerLimits,
  ReducerLoadError,
  type ReducerLoadErrorKind,
  type ReducerModule,
  ReducerTrap,
} from './reducer/host.js';
export { SQL_LIMITS } from './reducer/limits.js';
export { loadPreparedReducerFrom } from './reducer/load-reducer.js';
export { METER_VERSION } from './reducer/meter-abi.js';
export { isPrepared, type PreparedHeader, readPrepared } from './reducer/prepared.js';
export { WORLD_PACKAGE } from './reducer/world.js';
export { migrationEnvelope, Replica, type ReplicaOptions, type TableStamp } from './replica.js';
export { Connection, SqlError } from './sqlite/connection.js';
export { loadSqlite, type Sqlite3 } from './sqlite/sqlite.js';
export { type ByteStore, checkFileName } from './storage/byte-store.js';
export { ClientBase, type RecoveredBase } from './storage/client-base.js';
export {
  type EstablishedIdentity,
  establishIdentity,
  type IdentityRecord,
  parseIdentity,
  writeReach,
} from './storage/client-identity.js';
export {
  DocumentJournal,
  type ImageFile,
  type JournalOptions,
  type RecoveredState,
  rebuildStore,
} from './storage/document-journal.js';
export { documentFolderName } from './storage/file-names.js';
export {
  decodeFrameRecord,
  encodeFrameRecord,
  FrameRecordError,
  keepWireForm,
  wireFormOf,
} from './storage/frame-record.js';
export { ListedByteStore } from './storage/listed-byte-store.js';
export {
  type CrashOutcome,
  type Fault,
  FaultyByteStore,
  InjectedFault,
  MemoryByteStore,
  type Operation,
} from './storage/memory-byte-store.js';
export {
  covers,
  OverlayCache,
  type OverlayHeader,
  type OverlayKeeper,
  type OverlayMigration,
  type OverlaySource,
  type RestoredOverlay,
} from './storage/overlay-cache.js';
export {
  decodePageImage,
  encodePageImage,
  type ImageEncoding,
  type PageImage,
  PageImageError,
  type PageSource,
} from './storage/page-image.js';
export {
  type DecodedRecords,
  decodeRecords,
  encodeRecord,
  type JournalRecord,
  MAX_RECORD_PAYLOAD,
  RECORD_OVERHEAD,
  RecordType,
} from './storage/record.js';
export {
  type MarkedReducer,
  raiseSchemaMark,
  readMarkedReducer,
  readSchemaMark,
  readSchemaMarkRecord,
  SCHEMA_MARK_UNWRITTEN,
} from './storage/schema-mark.js';
export {
  auditTimeline,
  type TimelineAudit,
  type TimelineLoss,
  timelineLoss,
} from './storage/timeline-audit.js';
export { newTimelineSecret } from './storage/timeline-secret.js';
export { type CoordinatorOptions, checkCoordinatorOptions } from './sync/coordinator-check.js';
export {
  REDIRECT_REFUSALS,
  type RedirectRefusal,
  type RedirectRefusalKind,
} from './sync/coordinator-list.js';
export type {
  MessageDecoder,
  ReducerWait,
  SyncOptions,
  SyncState,
  SyncTarget,
  WebSocketLike,
} from './sync/sync-target.js';
export type { HeadAnswer } from './sync/sync-waits.js';
export { NULL, type PlainValue, type RowSet, toPlain, toValue, type Value } from './value.js';
export {
  CAPTURE_VFS_NAME,
  type CaptureVfs,
  type CommitFrame,
  type CommitListener,
  type Envelope,
  installCaptureVfs,
} from './vfs/capture-vfs.js';
export { deriveSeed, SeededRandom } from './vfs/entropy.js';
export { PAGE_SIZE, PageStore } from './vfs/page-store.js';
