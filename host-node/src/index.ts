export {
  LocalDocument,
  type MigrationReport,
  type MutateOptions,
  type MutationResult,
  type Rejection,
  type Row,
  type SyncStatus,
} from '@tandem/runtime/local';
export { documentFolder, type OpenDocumentOptions, openDocument } from './document.js';
export { type FolderLock, lockFolder } from './folder-lock.js';
export { FsByteStore } from './fs-byte-store.js';
