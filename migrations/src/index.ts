export { ensureSchema, META_TABLE, readSchemaVersion } from './schema-version.js';
