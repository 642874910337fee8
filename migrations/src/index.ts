// The schema lifecycle: the version a database records, the migrate run that brings it to its reducer's,
// and the gate that refuses an older reducer. Hosts hand `schemaLifecycle` to the runtime's
// openLocalDocument; the coordinator's authoritative document calls the functions itself.
export {
  ensureSchema,
  META_TABLE,
  readSchemaVersion,
  refuseOlderReducer,
  schemaLifecycle,
} from './schema-version.js';
