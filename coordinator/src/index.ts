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
} from './authority/authority-document.js';
export {
  type AuthorityJournal,
  type AuthorityRecovered,
  type AuthorityStore,
  type AuthorityStoreOpen,
  fileAuthorityStore,
} from './authority/authority-store.js';
export type { CatchUpReply, CatchUpRequest } from './catch-up.js';
export { DocumentPool, type DocumentPoolOptions } from './document-pool.js';
export { createLog, type Log, type LogLevel, type LogOptions } from './log.js';
export { type Coordinator, type CoordinatorOptions, startCoordinator } from './server.js';
