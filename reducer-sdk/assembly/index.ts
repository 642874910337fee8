// The library reducer authors import as `@tandem/reducer-sdk/assembly`.
// See reducer-sdk/README.md: a reducer exports SCHEMA_VERSION, migrate(from) and reduce(m) (or reduceBatch).

export { enter, log, now, random } from './env';
export { JsonKind, JsonObject, JsonValue, json, MAX_DEPTH } from './json';
export { Mutation, Outcome } from './mutation';
export { ExecResult, QueryResult, sql } from './sql';
export { Value, ValueKind } from './value';
