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
export { FsByteStore, type FsByteStoreOptions } from './fs-byte-store.js';
