// The PostgreSQL store's tables, created and upgraded by the numbered files of coordinator/sql
// (`0001-documents.sql`, …), each applied once at a coordinator's start.
//
// Invariants:
// 1. Each file runs in its own transaction together with its row in `schema_migrations`: a file is
//    applied whole or not at all, and applying the same files again changes nothing.
// 2. Coordinators starting together apply them one at a time (a session advisory lock held while
//    they run): the second finds them recorded and does nothing.
// 3. A database recorded at a version this coordinator does not know (a newer coordinator upgraded it)
//    is refused before anything is written.
import { readdirSync, readFileSync } from 'node:fs';
import { TandemError } from '@tandem/runtime';
import type { Pool } from 'pg';
import { withConnection } from './pool-connection.js';

/** `pg_advisory_lock` key of the schema's upgrades ("tandem" in ASCII, as an integer). */
const SCHEMA_LOCK = 0x74616e64656d;

export interface SchemaFile {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** The migration files shipped with this coordinator, by version (src/store and dist/store are both two below). */
export function schemaFiles(): SchemaFile[] {
  const folder = new URL('../../sql/', import.meta.url);
  return readdirSync(folder)
    .flatMap((name) => {
      const match = /^(\d{4})-[a-z0-9-]+\.sql$/.exec(name);
      if (match === null) return [];
      return [{ version: Number(match[1]), name, sql: readFileSync(new URL(name, folder), 'utf8') }];
    })
    .sort((a, b) => a.version - b.version);
}

/** Applies the files not yet applied (invariants above); returns the names it applied. */
export async function migrateSchema(
  pool: Pool,
  files: readonly SchemaFile[] = schemaFiles(),
): Promise<string[]> {
  // Closed, not given back, when it fails: a statement that timed out may still run on it (store-timeouts.ts).
  return withConnection(pool, async (client) => {
    await client.query('SELECT pg_advisory_lock($1)', [SCHEMA_LOCK]);
    try {
      await client.query(
        `CREATE TABLE IF NOT EXISTS schema_migrations (
           version integer PRIMARY KEY,
           name text NOT NULL,
           applied_at timestamptz NOT NULL DEFAULT now()
         )`,
      );
      const recorded = await client.query<{ version: number; name: string }>(
        'SELECT version, name FROM schema_migrations ORDER BY version',
      );
      const known = new Set(files.map((file) => file.version));
      const unknown = recorded.rows.find((row) => !known.has(row.version));
      if (unknown !== undefined) {
        throw new TandemError(
          'invalid-argument',
          `the database's schema is at ${unknown.name} (version ${unknown.version}), which this coordinator does not know: a newer coordinator upgraded it`,
          { reason: 'store-schema-newer' },
        );
      }
      const done = new Set(recorded.rows.map((row) => row.version));
      const applied: string[] = [];
      for (const file of files) {
        if (done.has(file.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(file.sql);
          await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
            file.version,
            file.name,
          ]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK');
          throw error;
        }
        applied.push(file.name);
      }
      return applied;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [SCHEMA_LOCK]);
    }
  });
}
