export {
  LocalDocument,
  type MutateOptions,
  type MutationResult,
  type OpenDocumentOptions,
  openDocument,
  type Row,
} from './document.js';
