// The highest schema version a reducer ran this client's document at: `schema.….meta`.
//
// A document's database records its schema version (migrations' schema-version.ts), but a client's
// database is its base, the coordinator's pages: a document that never synced, or one whose reducer is
// newer than the coordinator's, is at the newer version only in its overlay, which a reopen rebuilds from
// the timeline under whatever reducer it is given. An older reducer would then reduce mutations written
// for the newer schema and drop what it does not know (a column's data) without a word. This mark keeps
// the version across reopens.
//
// Invariants:
// 1. The mark is written (synced) when a reducer brings the document to a version above the mark, before
//    the document takes a mutation under that version: every pending mutation was written under a
//    version at or below the mark.
// 2. Marks only grow: a new one is written only above the highest whole one, then the older ones go.
// 3. A mark lost to damage is not data lost: it only guards against an older reducer; the next open
//    under the current reducer writes it again.
import type { ByteStore } from './byte-store.js';
import { nextGeneration, parseFileName } from './file-names.js';
import { readMetaFile, writeMetaFile } from './meta-file.js';
import { RecordType } from './record.js';

const KIND = 'schema';

/**
 * The `reason` of the `storage-failed` a host's mark raise rejects with: the document did not move and
 * still works under its reducer, so a sync client tries again with its next session.
 */
export const SCHEMA_MARK_UNWRITTEN = 'schema-mark-unwritten';

/** The highest schema version marked in `files` of `store` (0 without a whole mark). */
export async function readSchemaMark(store: ByteStore, files: readonly string[]): Promise<number> {
  const found = await readMetaFile(store, files, KIND, RecordType.schemaMark, 'newest', parseMark);
  return found?.value ?? 0;
}

/** Marks `version` when it is above `marked` (invariants 1, 2). */
export async function raiseSchemaMark(store: ByteStore, marked: number, version: number): Promise<void> {
  if (version <= marked) return;
  const files = await store.list();
  const name = await writeMetaFile(
    store,
    KIND,
    nextGeneration(files),
    RecordType.schemaMark,
    JSON.stringify({ version: 1, schemaVersion: version }),
  );
  for (const file of files) {
    if (file !== name && parseFileName(file)?.kind === KIND) await store.delete(file);
  }
}

function parseMark(text: string): number | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return undefined;
    const { schemaVersion } = value as Record<string, unknown>;
    return Number.isSafeInteger(schemaVersion) && (schemaVersion as number) >= 0
      ? (schemaVersion as number)
      : undefined;
  } catch {
    return undefined;
  }
}
