// A client's identity: the timeline id the coordinator dedupes its pushes by. Losing it must never make
// a client push again, under a new id, mutations the coordinator already took (a second apply), so it
// is kept in several places and established from whichever survive:
// - `identity.…meta`, written once when the document is created;
// - `reach.…meta`, written at each close: the id again, and the lsn the timeline had reached;
// - the history file (client-base.ts), which names the id beside the base it describes;
// - every timeline record (each mutation's envelope carries its timeline id).
//
// Invariants:
// 1. Every surviving copy must name the same id; copies that disagree make `establishIdentity` throw
//    `identity-lost`, and the document does not open (it cannot know under which id its past was taken).
// 2. A new id is minted only when no copy survives. Then no pending mutation survives either (each
//    carries the id), so nothing can be pushed twice; a lost timeline is reported on its own
//    (timeline-audit.ts).
// 3. A missing or damaged identity file is written again from the surviving copies.
// 4. Reach records only ever claim lsns the timeline held, so the highest whole one is a lower bound of
//    how far the timeline went: a shorter timeline lost mutations (timeline-audit.ts counts them).
//
// Records are versioned JSON ({"version":1,"timelineId":…,"nextLsn"?:…}; fields may be added). An
// identity file of the first format (the id as plain text) is still read.
import { TandemError } from '../errors.js';
import type { ByteStore } from './byte-store.js';
import { nextGeneration, parseFileName } from './file-names.js';
import { readMetaFile, writeMetaFile } from './meta-file.js';
import { decodeRecords, RecordType } from './record.js';

export const IDENTITY_VERSION = 1;

export interface IdentityRecord {
  readonly version: number;
  readonly timelineId: string;
  /** In reach records: the lsn the timeline's next mutation would have taken. */
  readonly nextLsn?: number;
}

/** Where a copy of the id was found. */
export type IdentitySource = 'identity' | 'reach' | 'history' | 'timeline';

export interface EstablishedIdentity {
  readonly timelineId: string;
  /** False when no copy survived and `fresh` was taken. */
  readonly recovered: boolean;
  /** The highest `nextLsn` a whole reach record claims (0 without any). */
  readonly reachedLsn: number;
}

export function encodeIdentity(record: IdentityRecord): string {
  return JSON.stringify(record);
}

/** A record of this or the first format, or undefined for anything else. */
export function parseIdentity(text: string): IdentityRecord | undefined {
  if (!text.startsWith('{')) {
    return text.length > 0 ? { version: 0, timelineId: text } : undefined;
  }
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return undefined;
    const { version, timelineId, nextLsn } = value as Record<string, unknown>;
    if (typeof version !== 'number' || version < 1 || typeof timelineId !== 'string' || timelineId === '') {
      return undefined;
    }
    if (nextLsn !== undefined && !(Number.isSafeInteger(nextLsn) && (nextLsn as number) >= 0))
      return undefined;
    return { version, timelineId, ...(nextLsn !== undefined && { nextLsn: nextLsn as number }) };
  } catch {
    return undefined;
  }
}

/**
 * The timeline id of the store (invariants 1–3): from the copies found in `store`, the history's
 * (`historyId`) and the timeline's records (`timelineIds`), or `fresh` when none survives.
 */
export async function establishIdentity(
  store: ByteStore,
  copies: { readonly historyId: string | undefined; readonly timelineIds: ReadonlySet<string> },
  fresh: string,
): Promise<EstablishedIdentity> {
  const files = await store.list();
  const found = new Map<string, Set<IdentitySource>>();
  const note = (id: string, source: IdentitySource): void => {
    found.set(id, (found.get(id) ?? new Set()).add(source));
  };
  const identity = await readMetaFile(store, files, 'identity', RecordType.identity, 'oldest', parseIdentity);
  if (identity !== undefined) note(identity.value.timelineId, 'identity');
  let reachedLsn = 0;
  for (const file of files.filter((f) => parseFileName(f)?.kind === 'reach')) {
    const record = decodeRecords((await store.read(file)) ?? new Uint8Array(0)).records[0];
    if (record?.type !== RecordType.identity) continue;
    const reach = parseIdentity(new TextDecoder().decode(record.payload));
    if (reach === undefined) continue;
    note(reach.timelineId, 'reach');
    reachedLsn = Math.max(reachedLsn, reach.nextLsn ?? 0);
  }
  if (copies.historyId !== undefined) note(copies.historyId, 'history');
  for (const id of copies.timelineIds) note(id, 'timeline');

  if (found.size > 1) {
    const seen = [...found].map(([id, sources]) => `${id} (${[...sources].join(', ')})`).join('; ');
    throw new TandemError(
      'identity-lost',
      `this replica's copies of its timeline id disagree: ${seen}; it cannot tell under which id the coordinator took its mutations, so it refuses to push rather than push twice`,
      { reason: 'copies-disagree' },
    );
  }
  const [only] = found.keys();
  const timelineId = only ?? fresh;
  if (identity === undefined) {
    await writeMetaFile(
      store,
      'identity',
      nextGeneration(files),
      RecordType.identity,
      encodeIdentity({ version: IDENTITY_VERSION, timelineId }),
    );
  }
  return { timelineId, recovered: only !== undefined, reachedLsn };
}

/** Records at close that the timeline `timelineId` reached `nextLsn` (invariant 4); replaces older ones. */
export async function writeReach(store: ByteStore, timelineId: string, nextLsn: number): Promise<void> {
  const files = await store.list();
  const name = await writeMetaFile(
    store,
    'reach',
    nextGeneration(files),
    RecordType.identity,
    encodeIdentity({ version: IDENTITY_VERSION, timelineId, nextLsn }),
  );
  for (const file of files) {
    if (file !== name && parseFileName(file)?.kind === 'reach') await store.delete(file);
  }
}
