export { type LocalDocumentOptions, openLocalDocument } from './open-document.js';
export { ensureSchema, META_TABLE, readSchemaVersion, refuseOlderReducer } from './schema-version.js';
