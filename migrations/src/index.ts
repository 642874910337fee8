export {
  APPLIED_TABLE,
  REJECTED_TABLE,
  REJECTIONS_KEPT,
  readAppliedLsn,
  readAppliedMarkers,
  readRejections,
  writeAppliedMarkers,
  writeRejections,
} from './applied-marker.js';
export {
  AuthorityDocument,
  type AuthorityOptions,
  type CatchUp,
  type DocumentSnapshot,
  type KeptFrame,
  type PushErrorKind,
  type PushOutcome,
  type PushReport,
  type PushRequest,
  type PushResult,
} from './authority-document.js';
export { type LocalDocumentOptions, loadReducerFrom, openLocalDocument } from './open-document.js';
export { ensureSchema, META_TABLE, readSchemaVersion } from './schema-version.js';
