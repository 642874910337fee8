export { ensureSchema, META_TABLE, type MigrationReport, readSchemaVersion } from './schema-version.js';
