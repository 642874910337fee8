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
export {
  type AuthorityJournal,
  type AuthorityRecovered,
  type AuthorityStore,
  type AuthorityStoreOpen,
  fileAuthorityStore,
} from './authority-store.js';
export { loadPreparedReducerFrom } from './load-reducer.js';
export { type LocalDocumentOptions, openLocalDocument } from './open-document.js';
export { ensureSchema, META_TABLE, readSchemaVersion, refuseOlderReducer } from './schema-version.js';
