export {
  LocalDocument,
  type MigrationReport,
  type MutateOptions,
  type MutationResult,
  type Row,
} from '@tandem/runtime';
export { type OpenDocumentOptions, openDocument } from './open-document.js';
export { OpfsByteStore } from './opfs-byte-store.js';
