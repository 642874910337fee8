// Migrating every document of a data folder on request (`POST /admin/migrate`, `tandem-coordinator
// migrate`), while the coordinator serves. Each document moves to the current reducer as at its next
// use (document-worker.ts: `migrate` runs at its open, as one transaction and one frame); this only
// makes that use happen now, for every document, and says what each became.
//
// Invariants:
// 1. Documents are migrated one at a time, in the order of their folder names: at most one document is
//    opened for this at any moment beside the documents clients use, and a failure of one (its
//    `migrate` fails, its storage is damaged) is reported for it and the next one goes on.
// 2. A document already open under the current reducer is reported `current`; one open under an older
//    reducer (its `migrate` failed at an earlier open) is closed and reopened, so `migrate` is tried
//    again; if it then moves, its clients' connections are closed so they hear the new reducer.
import { readdir } from 'node:fs/promises';
import { documentFolderName } from '@tandem/runtime';

/** What one document became (the worker's answer, and a line of the admin answer). */
export type DocumentMigration =
  | { readonly outcome: 'migrated'; readonly fromVersion: number; readonly toVersion: number }
  | { readonly outcome: 'current'; readonly schemaVersion: number }
  | {
      readonly outcome: 'failed';
      readonly reason: string;
      readonly fromVersion?: number;
      readonly toVersion?: number;
    };

/** The worker's answer for a document open under an older reducer: close it, then ask again. */
export const STALE = 'stale';

export type MigrationOutcome = DocumentMigration['outcome'];

export interface MigrateAllSteps {
  /** Opens the document under the current reducer if it is not open (document-pool.ts). */
  readonly migrate: (docId: string) => Promise<DocumentMigration | typeof STALE>;
  /** Closes the document in its worker (files synced). */
  readonly release: (docId: string) => Promise<void>;
  /** Closes the connections of a document that moved to another reducer (invariant 2). */
  readonly moved: (docId: string) => void;
  /** Told of each document's outcome, as it is known (logs and metrics). */
  readonly report: (docId: string, migration: DocumentMigration) => void;
}

/** The documents whose folders are in `dataDir`, by folder name. */
export async function listDocuments(dataDir: string): Promise<string[]> {
  const entries = await readdir(dataDir, { withFileTypes: true });
  const docIds: string[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (!entry.isDirectory() || !/^(?:[A-Za-z0-9_-]|%[0-9a-f]{4})+$/.test(entry.name)) continue;
    const docId = entry.name.replace(/%([0-9a-f]{4})/g, (_, hex: string) =>
      String.fromCharCode(Number.parseInt(hex, 16)),
    );
    // Only a name the encoding gives (a `.damaged-…` folder or `.reducers` never is one).
    if (documentFolderName(docId) === entry.name) docIds.push(docId);
  }
  return docIds;
}

export async function migrateAll(
  docIds: readonly string[],
  steps: MigrateAllSteps,
): Promise<{ docId: string; migration: DocumentMigration }[]> {
  const answers: { docId: string; migration: DocumentMigration }[] = [];
  for (const docId of docIds) {
    let migration: DocumentMigration;
    try {
      const first = await steps.migrate(docId);
      if (first === STALE) {
        await steps.release(docId);
        const again = await steps.migrate(docId);
        migration =
          again === STALE
            ? { outcome: 'failed', reason: 'the document did not reopen under the current reducer' }
            : again;
        if (migration.outcome === 'migrated') steps.moved(docId);
      } else {
        migration = first;
      }
    } catch (error) {
      migration = { outcome: 'failed', reason: error instanceof Error ? error.message : String(error) };
    }
    steps.report(docId, migration);
    answers.push({ docId, migration });
  }
  return answers;
}
