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
// 2. Marks never shrink while the document runs what they mark: a new one is written only above the
//    highest whole one (or at its version, for a move to another reducer of that version: invariant 4),
//    then the older ones go. The one exception is a move that did not complete (its `migrate` failed,
//    a frame was refused): the document stayed on its reducer and took no mutation under the marked
//    version, so the mark is put back to the version that reducer runs (`lowerSchemaMark`), with it kept
//    beside unless it is the app's. Otherwise the next offline open would run the kept reducer of the
//    failed move, whose `migrate` fails again, and a document that opened before would be refused.
// 3. A mark lost to damage is not data lost: it only guards against an older reducer; the next open
//    under the current reducer writes it again.
// 4. A mark raised by a move to the coordinator's reducer (an upgrade) keeps that reducer's prepared
//    bytes beside it (`reducer.….meta`), written and synced before the mark: a reopen while offline with
//    an app still shipping the older reducer opens with it instead of being refused. Those bytes run
//    only if they hash to the SHA-256 they were kept under; a damaged copy reads as absent, and the open
//    is refused (`reducer-too-old`) as without one. Only the reducer of the newest mark is kept, and it
//    is the one the document last moved to: a move to another reducer of the marked version (R2 → R2′)
//    writes the mark again at that version, keeping R2′ in R2's place.
// 5. Hence, crash where it may: a mark of version N has beside it a whole reducer of version N or newer,
//    or was raised by the app's own reducer (which then opens the document). A crash after the kept
//    reducer is synced but before the mark leaves an orphan newer than the mark, which an open may run
//    (runtime open-local-document.ts); that open then raises the mark keeping it, as a move does.
import { sha256Hex } from '../sha256.js';
import type { ByteStore } from './byte-store.js';
import { formatFileName, nextGeneration, parseFileName } from './file-names.js';
import { readMetaFile, writeMetaFile } from './meta-file.js';
import { decodeRecords, encodeRecord, RecordType } from './record.js';

const KIND = 'schema';
const REDUCER_KIND = 'reducer';

/** A reducer a document was moved to, as kept beside the mark (invariant 4). */
export interface MarkedReducer {
  /** Hex SHA-256 of `bytes`: the reducer's identity (the prepared reducer's). */
  readonly sha256: string;
  readonly schemaVersion: number;
  /** The prepared reducer, as compiled. */
  readonly bytes: Uint8Array;
}

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

/**
 * Marks `version` when it is above `marked` (invariants 1, 2), after keeping `reducer` beside it when a
 * move to that reducer raises it (invariant 4). Given a reducer, a `version` equal to `marked` is written
 * again with it (a move to another reducer of the marked version).
 */
export async function raiseSchemaMark(
  store: ByteStore,
  marked: number,
  version: number,
  reducer?: MarkedReducer,
): Promise<void> {
  if (version < marked || (version === marked && reducer === undefined)) return;
  const files = await store.list();
  const generation = nextGeneration(files);
  const kept = reducer && (await keepReducer(store, generation, reducer));
  await replaceMark(store, files, generation, version, kept);
}

/** Writes the mark of `version` as `generation`, then deletes the marks and reducers but `kept` of `files`. */
async function replaceMark(
  store: ByteStore,
  files: readonly string[],
  generation: number,
  version: number,
  kept: string | undefined,
): Promise<void> {
  const name = await writeMetaFile(
    store,
    KIND,
    generation,
    RecordType.schemaMark,
    JSON.stringify({ version: 1, schemaVersion: version }),
  );
  for (const file of files) {
    const kind = parseFileName(file)?.kind;
    if ((kind === KIND && file !== name) || (kind === REDUCER_KIND && file !== kept))
      await store.delete(file);
  }
}

/**
 * Puts the mark back to `version`, the one the document runs after a move that did not complete
 * (invariant 2), keeping `reducer` (the one it runs) beside it unless the app's opens it. Written in
 * the order raises are: the reducer synced first, then the mark, then the older files go. A crash
 * between leaves the failed move's mark and reducer, as before this ran; after the mark, the lower one.
 */
export async function lowerSchemaMark(
  store: ByteStore,
  version: number,
  reducer?: MarkedReducer,
): Promise<void> {
  const files = await store.list();
  const generation = nextGeneration(files);
  const kept = reducer && (await keepReducer(store, generation, reducer));
  await replaceMark(store, files, generation, version, kept);
}

/**
 * The reducer kept beside the mark (invariant 4) whose schema version is `version` or newer, its bytes
 * checked against its SHA-256; `damaged` when a copy is there but unreadable or of another hash, and
 * no whole one is; undefined when none is kept.
 */
export async function readMarkedReducer(
  store: ByteStore,
  files: readonly string[],
  version: number,
): Promise<MarkedReducer | 'damaged' | undefined> {
  const candidates = files
    .filter((file) => parseFileName(file)?.kind === REDUCER_KIND)
    .sort((a, b) => parseFileName(b)!.generation - parseFileName(a)!.generation);
  let damaged = false;
  for (const file of candidates) {
    const record = decodeRecords((await store.read(file)) ?? new Uint8Array(0)).records[0];
    const kept = record?.type === RecordType.markedReducer ? parseReducer(record.payload) : undefined;
    if (kept === undefined || (await sha256Hex([kept.bytes])) !== kept.sha256) {
      damaged = true;
      continue;
    }
    if (kept.schemaVersion >= version) return kept;
  }
  return damaged ? 'damaged' : undefined;
}

/** Writes and syncs `reducer`'s file of `generation`; returns its name. */
async function keepReducer(store: ByteStore, generation: number, reducer: MarkedReducer): Promise<string> {
  const header = new TextEncoder().encode(
    JSON.stringify({ version: 1, sha256: reducer.sha256, schemaVersion: reducer.schemaVersion }),
  );
  const payload = new Uint8Array(4 + header.length + reducer.bytes.length);
  new DataView(payload.buffer).setUint32(0, header.length, true);
  payload.set(header, 4);
  payload.set(reducer.bytes, 4 + header.length);
  const name = formatFileName({ kind: REDUCER_KIND, lsn: 0, generation, ext: 'meta' });
  await store.append(name, encodeRecord(RecordType.markedReducer, payload));
  await store.sync(name);
  return name;
}

function parseReducer(payload: Uint8Array): MarkedReducer | undefined {
  if (payload.length < 4) return undefined;
  const length = new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(0, true);
  if (4 + length > payload.length) return undefined;
  try {
    const header: unknown = JSON.parse(new TextDecoder().decode(payload.subarray(4, 4 + length)));
    if (typeof header !== 'object' || header === null) return undefined;
    const { version, sha256, schemaVersion } = header as Record<string, unknown>;
    if (version !== 1 || typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) return undefined;
    if (!Number.isSafeInteger(schemaVersion) || (schemaVersion as number) < 0) return undefined;
    return { sha256, schemaVersion: schemaVersion as number, bytes: payload.slice(4 + length) };
  } catch {
    return undefined;
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
