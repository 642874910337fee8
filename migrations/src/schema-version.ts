// The schema-version bookkeeping inside a document's database, and the lifecycle that brings a
// database to its reducer's version.
//
// Invariants:
// 1. The version recorded in `_tandem_meta` is the version the database's tables are at: it is
//    written in the same transaction as the reducer's `migrate`, so a failed migration leaves both
//    as they were.
// 2. A database is never migrated downwards: a reducer older than the database is refused with
//    `reducer-too-old`, naming both versions, before it can write anything.

import {
  type MigrationReport,
  type Replica,
  type SchemaLifecycle,
  type TableStamp,
  TandemError,
} from '@tandem/runtime/local';

export const META_TABLE = '_tandem_meta';

/** The schema version recorded in the database; 0 for a database no reducer has migrated yet. */
export function readSchemaVersion(replica: Replica): number {
  if (!replica.hasTable(META_TABLE)) return 0;
  const rows = replica.query(`SELECT value FROM ${META_TABLE} WHERE key = 'schema_version'`);
  const value = rows[0]?.value;
  return typeof value === 'number' ? value : 0;
}

/**
 * Where each replica's database was last found at its reducer's version: while the meta table is
 * unchanged (Replica.tableStamp), it still is, and a client's rebase (every frame it receives) skips
 * the transaction that would read it again.
 */
const current = new WeakMap<Replica, { readonly version: number; readonly stamp: TableStamp }>();

/**
 * Refuses (`reducer-too-old`, naming both versions) a reducer older than the database (invariant 2).
 * Hosts call it as soon as the pages are readable, before they write anything: a refused open leaves
 * the document's files byte for byte as they were. `marked` is the version a client's document was
 * already run at (runtime storage/schema-mark.ts): its overlay may be newer than its base.
 */
export function refuseOlderReducer(replica: Replica, docId?: string, marked = 0): void {
  const documentVersion = Math.max(readSchemaVersion(replica), marked);
  const reducerVersion = replica.reducerVersion;
  if (documentVersion <= reducerVersion) return;
  const which = docId === undefined ? 'the database' : `document ${docId}`;
  throw new TandemError(
    'reducer-too-old',
    `${which} is at schema version ${documentVersion} but the reducer only knows version ${reducerVersion}: load a reducer of version ${documentVersion} or newer`,
    { documentVersion, reducerVersion },
  );
}

/** Runs the reducer's `migrate` when the database is behind it, in one transaction (one frame). */
export function ensureSchema(replica: Replica): MigrationReport {
  const toVersion = replica.reducerVersion;
  const known = current.get(replica);
  if (known?.version === toVersion && replica.sameTable(known.stamp)) {
    return { fromVersion: toVersion, toVersion, migrated: false };
  }
  current.delete(replica);
  const report = migrateIfBehind(replica, toVersion);
  const stamp = report.migrated ? undefined : replica.tableStamp(META_TABLE);
  if (stamp !== undefined) current.set(replica, { version: toVersion, stamp });
  return report;
}

function migrateIfBehind(replica: Replica, toVersion: number): MigrationReport {
  return replica.transaction(() => {
    refuseOlderReducer(replica);
    const fromVersion = readSchemaVersion(replica);
    if (fromVersion === toVersion) return { fromVersion, toVersion, migrated: false };
    const outcome = replica.migrate(fromVersion, toVersion);
    if (!outcome.ok) {
      throw new TandemError(
        'migration-failed',
        `migrate(${fromVersion}) to schema version ${toVersion} failed: ${outcome.reason}`,
        { fromVersion, toVersion, reason: outcome.reason },
      );
    }
    replica.connection.exec(
      `CREATE TABLE IF NOT EXISTS ${META_TABLE} (key TEXT PRIMARY KEY, value ANY) STRICT;
       INSERT INTO ${META_TABLE} (key, value) VALUES ('schema_version', ${toVersion})
         ON CONFLICT (key) DO UPDATE SET value = excluded.value;`,
    );
    return { fromVersion, toVersion, migrated: true };
  });
}

/** What a host hands the runtime's openLocalDocument: this lifecycle, which sits above the runtime. */
export const schemaLifecycle: SchemaLifecycle = { refuseOlderReducer, ensureSchema, readSchemaVersion };
