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
//    is refused (`reducer-too-old`) as without one. Only the reducer of the newest mark is kept (and,
//    while its move may not have held, the older ones: invariant 6), and it is the one the document last
//    moved to: a move to another reducer of the marked version (R2 → R2′) writes the mark again at that
//    version, keeping R2′ in R2's place.
// 5. Hence, crash where it may: a mark of version N has beside it a whole reducer of version N or newer,
//    or was raised by the app's own reducer (which then opens the document). A crash after the kept
//    reducer is synced but before the mark leaves an orphan newer than the mark; the mark names the
//    reducer it was written with (`sha256`), and an open runs that one, not the orphan, whose move never
//    began (marks written before the name was recorded fall back to the newest whole copy).
// 6. A mark raised for a move records, until the move held, the reducer the document ran (`move`), and
//    the raise leaves that reducer's copy beside it. Once the move held, the mark is written again
//    without it (`holdSchemaMark`, the older copy deleted), and the document reduces no mutation under
//    the new reducer before that is durable (reducer-move.ts invariant 3). So a newest mark that still
//    records its move has no mutation of the new reducer in the timeline: what can hold the new schema
//    is only the base, when the move's burst reached it. An open decides from those pages: older than
//    the mark, the move never committed them and the mark goes back to the reducer it records (not a
//    `migrate` that may fail on the old pages, nor a mark above what the document holds); at the mark's
//    version, the move held and its reducer opens. A session that ended between a raise and its move
//    (the document closed) puts the mark back itself (reducer-move.ts invariant 4).
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

/** What a move that may not have held yet records with its mark (invariant 6). */
export interface PendingMove {
  /** The reducer the document ran when the raise began: the mark goes back to it. */
  readonly from: { readonly schemaVersion: number; readonly sha256: string };
}

export interface SchemaMark {
  readonly schemaVersion: number;
  /** The reducer the mark was written with (invariant 5); absent in marks written before it was named. */
  readonly sha256?: string;
  /** Present while the move that raised it has not held (invariant 6). */
  readonly move?: PendingMove;
}

/** The newest whole mark in `files` of `store`. */
export async function readSchemaMarkRecord(
  store: ByteStore,
  files: readonly string[],
): Promise<SchemaMark | undefined> {
  return (await readMetaFile(store, files, KIND, RecordType.schemaMark, 'newest', parseMark))?.value;
}

/** The highest schema version marked in `files` of `store` (0 without a whole mark). */
export async function readSchemaMark(store: ByteStore, files: readonly string[]): Promise<number> {
  return (await readSchemaMarkRecord(store, files))?.schemaVersion ?? 0;
}

/**
 * Marks `version` when it is above `marked` (invariants 1, 2), after keeping `reducer` beside it when a
 * move to that reducer raises it (invariant 4). Given a reducer, a `version` equal to `marked` is written
 * again with it (a move to another reducer of the marked version). `by` names the reducer that raises
 * it and `move` what a move that may not hold records (invariants 5, 6). Returns the kept copy's file.
 */
export async function raiseSchemaMark(
  store: ByteStore,
  marked: number,
  version: number,
  reducer?: MarkedReducer,
  written: { readonly by?: string; readonly move?: PendingMove } = {},
): Promise<string | undefined> {
  if (version < marked || (version === marked && reducer === undefined)) return undefined;
  const sha256 = written.by ?? reducer?.sha256;
  return writeSchemaMark(
    store,
    {
      schemaVersion: version,
      ...(sha256 !== undefined && { sha256 }),
      ...(written.move && { move: written.move }),
    },
    reducer,
  );
}

/**
 * Writes `mark` as the newest, after keeping `reducer` beside it (written and synced first) or keeping
 * the copy already in the file named `reducer`; then deletes the older marks and the other kept copies,
 * except while `mark` records a move that may not hold, whose older copy an open may go back to
 * (invariant 6). A crash between leaves the older mark the newest whole one. Returns the kept file.
 */
export async function writeSchemaMark(
  store: ByteStore,
  mark: SchemaMark,
  reducer?: MarkedReducer | string,
): Promise<string | undefined> {
  const files = await store.list();
  const generation = nextGeneration(files);
  const kept =
    typeof reducer === 'string' ? reducer : reducer && (await keepReducer(store, generation, reducer));
  const name = await writeMetaFile(
    store,
    KIND,
    generation,
    RecordType.schemaMark,
    JSON.stringify({ version: 1, ...mark }),
  );
  for (const file of files) {
    const kind = parseFileName(file)?.kind;
    const stale = kind === REDUCER_KIND && file !== kept && mark.move === undefined;
    if ((kind === KIND && file !== name) || stale) await store.delete(file);
  }
  return kept;
}

/**
 * Puts the mark back to `version`, the one the document runs after a move that did not complete
 * (invariant 2), keeping `reducer` (the one it runs) beside it unless the app's opens it; `by` names
 * the reducer it runs. Written in the order raises are: the reducer synced first, then the mark, then
 * the older files go. A crash between leaves the failed move's mark, which records the move
 * (invariant 6): the next open lowers it; after the mark, the lower one.
 */
export async function lowerSchemaMark(
  store: ByteStore,
  version: number,
  by: string,
  reducer?: MarkedReducer,
): Promise<string | undefined> {
  return writeSchemaMark(store, { schemaVersion: version, sha256: by }, reducer);
}

/**
 * The mark of `version` written again once the move to `by` held (invariant 6): without the move, its
 * reducer still in the file `kept` (none when the app's raised it), the older copy deleted.
 */
export async function holdSchemaMark(
  store: ByteStore,
  version: number,
  by: string,
  kept: string | undefined,
): Promise<void> {
  await writeSchemaMark(store, { schemaVersion: version, sha256: by }, kept);
}

/**
 * The reducer kept beside the mark (invariant 4) whose schema version is `version` or newer, its bytes
 * checked against its SHA-256: the copy named `sha256` when one is whole (invariant 5), else the newest
 * whole one; `damaged` when a copy is there but unreadable or of another hash, and no whole one is;
 * undefined when none is kept.
 */
export async function readMarkedReducer(
  store: ByteStore,
  files: readonly string[],
  version: number,
  sha256?: string,
): Promise<MarkedReducer | 'damaged' | undefined> {
  const candidates = files
    .filter((file) => parseFileName(file)?.kind === REDUCER_KIND)
    .sort((a, b) => parseFileName(b)!.generation - parseFileName(a)!.generation);
  let damaged = false;
  let newest: MarkedReducer | undefined;
  for (const file of candidates) {
    const record = decodeRecords((await store.read(file)) ?? new Uint8Array(0)).records[0];
    const kept = record?.type === RecordType.markedReducer ? parseReducer(record.payload) : undefined;
    if (kept === undefined || (await sha256Hex([kept.bytes])) !== kept.sha256) {
      damaged = true;
      continue;
    }
    if (kept.schemaVersion < version) continue;
    if (sha256 === undefined || kept.sha256 === sha256) return kept;
    newest ??= kept;
  }
  return newest ?? (damaged ? 'damaged' : undefined);
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

function parseMark(text: string): SchemaMark | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return undefined;
    const { schemaVersion, sha256, move } = value as Record<string, unknown>;
    if (!isVersion(schemaVersion)) return undefined;
    if (sha256 !== undefined && !isSha256(sha256)) return undefined;
    const pending = move === undefined ? undefined : parseMove(move);
    if (move !== undefined && pending === undefined) return undefined;
    return {
      schemaVersion,
      ...(sha256 !== undefined && { sha256 }),
      ...(pending !== undefined && { move: pending }),
    };
  } catch {
    return undefined;
  }
}

function parseMove(value: unknown): PendingMove | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { from } = value as Record<string, unknown>;
  if (typeof from !== 'object' || from === null) return undefined;
  const { schemaVersion, sha256 } = from as Record<string, unknown>;
  if (!isVersion(schemaVersion) || !isSha256(sha256)) return undefined;
  return { from: { schemaVersion, sha256 } };
}

function isVersion(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function isSha256(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9a-f]{64}$/.test(value);
}
