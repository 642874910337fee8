// What a client's timeline files hold, read past damage: recovery (segment-log.ts) stops a file at its
// first unreadable record and keeps only the newest gap-free run, which is right after a crash (a torn
// tail was never acknowledged) but would drop acknowledged mutations silently when a file was damaged.
// The audit reads every record it can find (after an unreadable one it looks for the next whole record),
// so the caller can count what recovery left out.
//
// Invariants:
// 1. Only whole records (CRC-checked) count as found; an unreadable stretch followed by a whole record
//    is damage, never a torn tail (a crash tears only the end of what was written).
// 2. `lost` never counts an lsn at or below the base's applied marker (the coordinator took it; it
//    lives in the base's pages) nor one recovery kept.
// 3. A torn tail alone is no loss: a crash tears only what was never acknowledged. A timeline shorter
//    than the reach record of its last close (client-identity.ts) is one.
import { decodeMutationHeader, TimelineCodecError } from '../timeline-codec.js';
import type { ByteStore } from './byte-store.js';
import { parseFileName } from './file-names.js';
import { decodeRecords, RECORD_OVERHEAD, RecordType } from './record.js';
import { RecoveredMutations } from './recovered-mutations.js';
import { type DigestedRun, type RecoveredLog, recoverEntries } from './segment-log.js';

/** Lsns as the audit reports them: a run from `lowest` to `highest`, or any set. */
export interface LsnSet {
  has(lsn: number): boolean;
  readonly size: number;
  /** Infinity when empty. */
  readonly lowest: number;
  /** -Infinity when empty. */
  readonly highest: number;
}

export interface TimelineAudit {
  /** The lsns recovery (segment-log.ts) will replay. */
  readonly kept: LsnSet;
  /** That recovery, for the journal to take instead of reading the timeline again (document-journal.ts). */
  readonly recovered: RecoveredLog;
  /**
   * Its entries checked (recovered-mutations.ts), when the audit checked every one (the common case:
   * `readWhole`), for the journal to take instead of checking them again.
   */
  readonly pending?: RecoveredMutations;
  /** The lsns of every whole mutation record found. */
  readonly found: LsnSet;
  /** The timeline ids those records carry. */
  readonly timelineIds: ReadonlySet<string>;
  /** Unreadable stretches followed by a whole record (invariant 1), by file. */
  readonly damaged: readonly { readonly file: string; readonly offset: number; readonly bytes: number }[];
  /** Bytes after the last whole record of each file that has any: torn by a crash, or cut. */
  readonly tails: readonly { readonly file: string; readonly offset: number; readonly bytes: number }[];
}

export interface TimelineLoss {
  /** How many acknowledged-or-not mutations the timeline held that it can no longer replay. */
  readonly lost: number;
  readonly fromLsn: number;
  readonly toLsn: number;
}

/**
 * Reads the timeline files among `files`; changes nothing (run it before the journal recovers). With
 * `digested` (what a persisted overlay covers), recovery checks those records by their digest.
 */
export async function auditTimeline(
  store: ByteStore,
  files: readonly string[],
  digested?: DigestedRun,
): Promise<TimelineAudit> {
  const recovered = await recoverEntries(store, files, 'timeline', RecordType.mutation, undefined, digested);
  const damaged: { file: string; offset: number; bytes: number }[] = [];
  const tails: { file: string; offset: number; bytes: number }[] = [];
  const whole = readWhole(recovered);
  // Every record found is one recovery kept: one set serves as both.
  if (whole !== undefined) return { ...whole, recovered, damaged, tails };
  const kept = new Set<number>();
  for (let i = 0; i < recovered.entries.length; i++) kept.add(recovered.entries.lsn(i));
  const found = new Set<number>();
  const timelineIds = new Set<string>();
  for (const file of files) {
    const name = parseFileName(file);
    if (name?.kind !== 'timeline' || name.ext !== 'log') continue;
    const bytes = (await store.read(file)) ?? new Uint8Array(0);
    let offset = 0;
    while (offset < bytes.length) {
      const run = decodeRecords(bytes.subarray(offset));
      for (const record of run.records) {
        if (record.type !== RecordType.mutation || record.payload.length < 8) continue;
        try {
          const mutation = decodeMutationHeader(record.payload.subarray(8));
          found.add(mutation.lsn);
          timelineIds.add(mutation.timelineId);
        } catch (error) {
          if (!(error instanceof TimelineCodecError)) throw error;
        }
      }
      offset += run.validBytes;
      if (offset >= bytes.length) break;
      const next = nextWholeRecord(bytes, offset + 1);
      if (next === undefined) {
        tails.push({ file, offset, bytes: bytes.length - offset });
        break;
      }
      damaged.push({ file, offset, bytes: next - offset });
      offset = next;
    }
  }
  return { kept: lsnSet(kept), recovered, found: lsnSet(found), timelineIds, damaged, tails };
}

/**
 * The mutations recovery will not keep that the timeline once held above the base's applied
 * marker: from the oldest record found (the marker, when none is) to the newest found, or to
 * `reachedLsn` − 1 (the reach record of the last close) when that is further; undefined when none.
 * Below the oldest record found, a missing
 * lsn is not counted: the timeline drops mutations once the coordinator took them, and a base that lost
 * frames may not show that yet (the coordinator's refusal of a gap then stops sync loudly).
 */
export function timelineLoss(
  audit: TimelineAudit,
  appliedLsn: number,
  reachedLsn: number,
): TimelineLoss | undefined {
  // With no record left, everything the last close reached above the marker is gone.
  const lowest = audit.found.size === 0 ? appliedLsn + 1 : audit.found.lowest;
  const highest = Math.max(reachedLsn - 1, audit.found.highest);
  let lost = 0;
  let fromLsn = -1;
  let toLsn = -1;
  for (let lsn = Math.max(lowest, appliedLsn + 1); lsn <= highest; lsn++) {
    if (audit.kept.has(lsn)) continue;
    lost++;
    if (fromLsn < 0) fromLsn = lsn;
    toLsn = lsn;
  }
  return lost === 0 ? undefined : { lost, fromLsn, toLsn };
}

/**
 * When recovery read every timeline file to its end and kept every record it read (no damage, no tail,
 * nothing stale, no gap: the common case), the records found are the ones it kept, a gap-free run: their
 * lsns and timeline ids, each envelope checked once (recovered-mutations.ts), without reading the files
 * again. Undefined otherwise.
 */
function readWhole(
  recovered: RecoveredLog,
): Pick<TimelineAudit, 'kept' | 'found' | 'timelineIds' | 'pending'> | undefined {
  let records = 0;
  for (const file of recovered.files) {
    if (file.stoppedAt !== file.length) return undefined;
    records += file.records;
  }
  const { entries } = recovered;
  if (records !== entries.length) return undefined;
  let pending: RecoveredMutations;
  try {
    pending = RecoveredMutations.read(entries);
  } catch (error) {
    if (!(error instanceof TimelineCodecError)) throw error;
    return undefined;
  }
  // Recovery's entries are gap-free and in lsn order (segment-log.ts invariant 2).
  const kept = lsnRun(entries.length === 0 ? 0 : entries.lsn(0), entries.length);
  return { kept, found: kept, timelineIds: pending.timelineIds, pending };
}

/** The `size` lsns from `from` on. */
function lsnRun(from: number, size: number): LsnSet {
  const to = from + size - 1;
  return {
    has: (lsn) => lsn >= from && lsn <= to,
    size,
    lowest: size === 0 ? Infinity : from,
    highest: size === 0 ? -Infinity : to,
  };
}

function lsnSet(lsns: ReadonlySet<number>): LsnSet {
  let lowest = Infinity;
  let highest = -Infinity;
  for (const lsn of lsns) {
    lowest = Math.min(lowest, lsn);
    highest = Math.max(highest, lsn);
  }
  return { has: (lsn) => lsns.has(lsn), size: lsns.size, lowest, highest };
}

/** The offset of the next whole record at or after `from`, if any. */
function nextWholeRecord(bytes: Uint8Array, from: number): number | undefined {
  for (let at = from; at + RECORD_OVERHEAD <= bytes.length; at++) {
    if (bytes[at + 4] !== RecordType.mutation) continue;
    if (decodeRecords(bytes.subarray(at, bytes.length)).records.length > 0) return at;
  }
  return undefined;
}
