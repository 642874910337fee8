// Inside a dedicated worker: a LocalDocument opened in this worker (OPFS through synchronous access
// handles, the browser's WebSocket). Tabs use `@tandem/host-browser`'s openDocument instead.
export {
  LocalDocument,
  type MigrationReport,
  type MutateOptions,
  type MutationResult,
  type Row,
} from '@tandem/runtime';
export { type OpenDocumentOptions, openDocument } from './open-document.js';
export { OpfsByteStore } from './opfs-byte-store.js';
