export { type LocalDocumentOptions, loadReducerFrom, openLocalDocument } from './open-document.js';
export { ensureSchema, META_TABLE, readSchemaVersion } from './schema-version.js';
