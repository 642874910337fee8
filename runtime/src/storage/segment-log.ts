// An append-only log of lsn-numbered entries (frames, timeline mutations) in bounded segment files
// `<kind>.<first lsn>.<generation>.log`, each entry one record whose payload starts with its u64 lsn.
//
// Invariants:
// 1. Entries are appended with consecutive lsns; segment files are written in lsn order, and a segment
//    is synced before the next one gets its first byte, so whatever a crash keeps is a prefix of the log
//    per generation.
// 2. Recovery (see `recoverEntries`) returns a gap-free run of entries. A generation that starts at lsn L
//    was opened when the log recovered up to L − 1: anything an older generation holds at or beyond L
//    had been lost to that recovery (torn or unsynced) and is stale, never applied.
// 3. `flush` resolves once every entry appended before it is durable; calls that overlap share syncs
//    (group commit). After any failed append or sync the log refuses all further work: the bytes on
//    disk may end in a torn record, and only a recovery may decide what they hold.
// 4. Appends queued while no other step is queued behind them share one write step: their records go
//    out in one store append per segment (a burst of frames or a batch of mutations costs one write,
//    not one per record). Whatever is queued after a sync or drop step is written after it.
// 5. Recovery CRC-checks every record but those of a digested run whose bytes, read from one file, hash
//    to its digest (record.ts invariant 3): it returns the same entries as checking every CRC would.
import { concatBytes } from '../bytes.js';
import { sha256Hex } from '../sha256.js';
import type { ByteStore } from './byte-store.js';
import { EntryList } from './entry-list.js';
import { formatFileName, parseFileName } from './file-names.js';
import { encodeRecord, RECORD_HEAD, type RecordType, recordsEnd, scanRecords } from './record.js';

export type { LogEntry } from './entry-list.js';

export interface Segment {
  readonly name: string;
  readonly firstLsn: number;
  lastLsn: number;
  readonly generation: number;
}

export interface SegmentLogOptions {
  readonly kind: string;
  /** The record type of its entries, unless an append names another. */
  readonly type: RecordType;
  readonly generation: number;
  /** A segment is closed once it holds at least this many bytes. */
  readonly segmentBytes: number;
}

/**
 * Entries a recovery may know by a digest instead of their CRCs (invariant 5): the records of the
 * `count` entries from `fromLsn` on, end to end as a log stores them, hash (SHA-256, hex) to `digest`.
 */
export interface DigestedRun {
  readonly fromLsn: number;
  readonly count: number;
  readonly digest: string;
}

export interface RecoveredLog {
  /** The entries, as where they lie in the bytes read (entry-list.ts). */
  readonly entries: EntryList;
  /** The digested run when its bytes hashed to its digest: those bytes (a view of the file read). */
  readonly digested?: { readonly bytes: Uint8Array; readonly digest: string };
  /** Segments holding at least one recovered entry, in lsn order. */
  readonly segments: Segment[];
  /** Files of this kind that hold nothing recoverable (stale or torn), safe to delete. */
  readonly garbage: string[];
  /** What reading each segment file found, to say where a log that is shorter than expected stops. */
  readonly files: SegmentRead[];
}

export interface SegmentRead {
  readonly name: string;
  readonly firstLsn: number;
  readonly generation: number;
  /** Records read before the first one that is torn, damaged, stale or not an entry. */
  readonly records: number;
  /** The byte offset where reading stopped (the file's length when it read to the end). */
  readonly stoppedAt: number;
  readonly length: number;
}

/**
 * Reads every segment of `kind` and returns the entries a recovery may apply: from `from` on, without
 * gaps, stale generations dropped. Without `from`, the run that ends at the newest entry: older entries
 * before a gap can only be truncated ones a crash brought back. An entry is a record of one of `types`.
 * With `digested`, its records are checked by their digest when they lie in one file (invariant 5).
 */
export async function recoverEntries(
  store: ByteStore,
  files: readonly string[],
  kind: string,
  types: RecordType | readonly RecordType[],
  from?: number,
  digested?: DigestedRun,
): Promise<RecoveredLog> {
  const accepted: readonly number[] = typeof types === 'number' ? [types] : types;
  const parsed = files
    .map((file) => ({ file, name: parseFileName(file) }))
    .filter((f) => f.name?.kind === kind && f.name.ext === 'log')
    .map((f) => ({ file: f.file, firstLsn: f.name!.lsn, generation: f.name!.generation }));
  // Where each generation started: entries of older generations at or past it are stale.
  const starts = new Map<number, number>();
  for (const f of parsed) {
    starts.set(f.generation, Math.min(starts.get(f.generation) ?? Infinity, f.firstLsn));
  }
  const staleFrom = (generation: number): number => {
    let limit = Infinity;
    for (const [g, start] of starts) if (g > generation) limit = Math.min(limit, start);
    return limit;
  };
  const read: { readonly segment: Segment; readonly entries: EntryList }[] = [];
  const segments: Segment[] = [];
  const reads: SegmentRead[] = [];
  let run = digested !== undefined && digested.count > 0 ? digested : undefined;
  let verified: RecoveredLog['digested'];
  for (const f of parsed) {
    const bytes = (await store.read(f.file)) ?? new Uint8Array(0);
    const limit = staleFrom(f.generation);
    const segment: Segment = { name: f.file, firstLsn: f.firstLsn, lastLsn: -1, generation: f.generation };
    const scanned = new EntryList();
    let stoppedAt = 0;
    /** Where the record of the digested run's first lsn starts, once the scan stopped before it. */
    let runAt: number | undefined;
    // Read in place, no object per entry (a timeline holds a record per mutation).
    const visit = (recordType: RecordType, start: number, end: number): boolean => {
      if (!accepted.includes(recordType) || end - start < 8) return false;
      const lsn =
        ((bytes[start]! |
          (bytes[start + 1]! << 8) |
          (bytes[start + 2]! << 16) |
          (bytes[start + 3]! << 24)) >>>
          0) +
        ((bytes[start + 4]! |
          (bytes[start + 5]! << 8) |
          (bytes[start + 6]! << 16) |
          (bytes[start + 7]! << 24)) >>>
          0) *
          2 ** 32;
      if (lsn >= limit) return false;
      if (run !== undefined && lsn === run.fromLsn) {
        runAt = start - RECORD_HEAD;
        return false;
      }
      scanned.push(bytes, start + 8, end, lsn, recordType);
      stoppedAt = end + 4;
      return true;
    };
    scanRecords(bytes, visit);
    if (runAt !== undefined && run !== undefined) {
      const { count, digest } = run;
      const at = runAt;
      run = undefined;
      const end = recordsEnd(bytes, at, count);
      const bytesRun = end === undefined ? undefined : bytes.subarray(at, end);
      // Equal bytes, equal CRCs (record.ts invariant 3): the scan goes on as checking each would.
      const same = bytesRun !== undefined && (await sha256Hex([bytesRun])) === digest;
      if (same) verified = { bytes: bytesRun, digest };
      scanRecords(bytes, visit, at, same ? end : at);
    }
    segments.push(segment);
    read.push({ segment, entries: scanned });
    reads.push({
      name: f.file,
      firstLsn: f.firstLsn,
      generation: f.generation,
      records: scanned.length,
      stoppedAt,
      length: bytes.length,
    });
  }
  const single = read.length === 1 ? read[0]! : undefined;
  if (from === undefined && single !== undefined && single.entries.consecutive()) {
    // One file of consecutive lsns (a timeline that fits one segment): the run is the whole file.
    const { segment, entries } = single;
    if (entries.length === 0) return { entries, segments: [], garbage: [segment.name], files: reads };
    segment.lastLsn = entries.lsn(entries.length - 1);
    return {
      entries,
      ...(verified && { digested: verified }),
      segments: [segment],
      garbage: [],
      files: reads,
    };
  }
  const byLsn = new Map<number, { entries: EntryList; index: number; segment: Segment }>();
  for (const { segment, entries } of read)
    for (let index = 0; index < entries.length; index++)
      byLsn.set(entries.lsn(index), { entries, index, segment });
  let lsn = from ?? latestRunStart(byLsn.keys(), (key) => byLsn.has(key));
  const entries = new EntryList();
  const used = new Set<Segment>();
  for (let found = byLsn.get(lsn); found !== undefined; found = byLsn.get(++lsn)) {
    const { index } = found;
    const source = found.entries;
    entries.push(source.bytes(index), source.start(index), source.end(index), lsn, source.type(index));
    found.segment.lastLsn = Math.max(found.segment.lastLsn, lsn);
    used.add(found.segment);
  }
  const live = segments.filter((s) => used.has(s)).sort((a, b) => a.firstLsn - b.firstLsn);
  const garbage = segments.filter((s) => !used.has(s)).map((s) => s.name);
  return { entries, ...(verified && { digested: verified }), segments: live, garbage, files: reads };
}

/** The record of entry `lsn`, as a log stores it (its payload after the u64 lsn). */
export function encodeEntry(lsn: number, payload: Uint8Array, type: RecordType): Uint8Array {
  const body = new Uint8Array(8 + payload.length);
  const view = new DataView(body.buffer);
  view.setUint32(0, lsn % 2 ** 32, true);
  view.setUint32(4, Math.floor(lsn / 2 ** 32), true);
  body.set(payload, 8);
  return encodeRecord(type, body);
}

function latestRunStart(keys: Iterable<number>, has: (lsn: number) => boolean): number {
  let newest = -1;
  for (const key of keys) newest = Math.max(newest, key);
  if (newest < 0) return Infinity;
  let start = newest;
  while (has(start - 1)) start--;
  return start;
}

export class SegmentLog {
  readonly #store: ByteStore;
  readonly #options: SegmentLogOptions;
  readonly #segments: Segment[];
  #current: { segment: Segment; bytes: number } | undefined;
  #nextLsn: number | undefined;
  /** Appends and syncs run one after another, in call order. */
  #chain: Promise<void> = Promise.resolve();
  #appended = 0;
  #durable = 0;
  #syncing: Promise<void> | undefined;
  #failure: unknown;
  /** Records appended whose write has not started: later appends join them, until another step is queued. */
  #batch: { readonly lsn: number; readonly record: Uint8Array }[] | undefined;

  /** `nextLsn` undefined: the log is empty and its first append may take any lsn. */
  constructor(
    store: ByteStore,
    options: SegmentLogOptions,
    recovered: RecoveredLog,
    nextLsn: number | undefined,
  ) {
    this.#store = store;
    this.#options = options;
    this.#segments = [...recovered.segments];
    this.#nextLsn = nextLsn;
  }

  get nextLsn(): number | undefined {
    return this.#nextLsn;
  }

  /** Segments in lsn order (the last one may still be growing). */
  get segments(): readonly Segment[] {
    return this.#segments;
  }

  /** Queues the entry `lsn` (the next one); it is durable once a later `flush` resolves. */
  append(lsn: number, payload: Uint8Array, type: RecordType = this.#options.type): void {
    this.#checkHealthy();
    if (!Number.isSafeInteger(lsn) || lsn < 0 || (this.#nextLsn !== undefined && lsn !== this.#nextLsn)) {
      throw new RangeError(`${this.#options.kind} log expects lsn ${this.#nextLsn}, not ${lsn}`);
    }
    this.#nextLsn = lsn + 1;
    const record = encodeEntry(lsn, payload, type);
    this.#appended++;
    if (this.#batch !== undefined) {
      this.#batch.push({ lsn, record });
      return;
    }
    const batch = [{ lsn, record }];
    // A failure is kept in #failure and reported by the next call; nobody awaits this step itself.
    void this.#run(() => this.#write(batch)).catch(() => undefined);
    this.#batch = batch;
  }

  /**
   * Writes a batch of records (invariant 4): each segment's share in one append, a segment closed (and
   * synced) before the next one gets its first byte, as one append at a time would.
   */
  async #write(batch: readonly { readonly lsn: number; readonly record: Uint8Array }[]): Promise<void> {
    if (this.#batch === batch) this.#batch = undefined;
    const { kind, generation, segmentBytes } = this.#options;
    for (let i = 0; i < batch.length; ) {
      let current = this.#current;
      if (current !== undefined && current.bytes >= segmentBytes) {
        await this.#store.sync(current.segment.name);
        current = undefined;
      }
      const first = batch[i]!.lsn;
      if (current === undefined) {
        const name = formatFileName({ kind, lsn: first, generation, ext: 'log' });
        current = { segment: { name, firstLsn: first, lastLsn: first, generation }, bytes: 0 };
        this.#segments.push(current.segment);
        this.#current = current;
      }
      // The records that go into this segment: each one while the segment is below its size.
      let end = i;
      let bytes = 0;
      do bytes += batch[end++]!.record.length;
      while (end < batch.length && current.bytes + bytes < segmentBytes);
      const records = batch.slice(i, end).map((r) => r.record);
      await this.#store.append(
        current.segment.name,
        records.length === 1 ? records[0]! : concatBytes(records),
      );
      current.bytes += bytes;
      current.segment.lastLsn = batch[end - 1]!.lsn;
      i = end;
    }
  }

  /** Resolves once every entry appended before this call is durable. */
  async flush(): Promise<void> {
    const target = this.#appended;
    while (this.#durable < target) {
      this.#checkHealthy();
      if (this.#syncing === undefined) {
        const upTo = this.#appended;
        this.#syncing = this.#run(async () => {
          const current = this.#current;
          if (current !== undefined) await this.#store.sync(current.segment.name);
        }).then(() => {
          this.#durable = Math.max(this.#durable, upTo);
        });
        const done = (): void => {
          this.#syncing = undefined;
        };
        this.#syncing.then(done, done);
      }
      await this.#syncing.catch(() => undefined);
    }
    this.#checkHealthy();
  }

  /** Whether `dropBefore(lsn, current)` called now would delete a segment. */
  dropsBefore(lsn: number, current = false): boolean {
    if (this.#segments.some((s) => s.lastLsn < lsn && s !== this.#current?.segment)) return true;
    return current && this.#current !== undefined && this.#nextLsn !== undefined && this.#nextLsn <= lsn;
  }

  /**
   * Deletes the closed segments whose entries all lie below `lsn`; with `current`, also the segment
   * being written when every entry appended so far lies below `lsn` (the next append starts a new one).
   */
  async dropBefore(lsn: number, current = false): Promise<void> {
    const doomed = this.#segments.filter((s) => s.lastLsn < lsn && s !== this.#current?.segment);
    for (const segment of doomed) this.#segments.splice(this.#segments.indexOf(segment), 1);
    // Decided now: appends queued before this call run before the step below, and all lie below `lsn`;
    // later ones run after it, into a new segment.
    const whole = current && this.#nextLsn !== undefined && this.#nextLsn <= lsn;
    await this.#run(async () => {
      for (const segment of doomed) await this.#store.delete(segment.name);
      const open = this.#current;
      if (whole && open !== undefined) {
        this.#current = undefined;
        this.#segments.splice(this.#segments.indexOf(open.segment), 1);
        await this.#store.delete(open.segment.name);
      }
    });
  }

  /** Bytes in the segment being written (as far as the appends queued have reached it). */
  get currentBytes(): number {
    return this.#current?.bytes ?? 0;
  }

  /** Waits for queued appends (not syncs) to reach the store. */
  async drain(): Promise<void> {
    await this.#chain;
    this.#checkHealthy();
  }

  #run(step: () => Promise<void>): Promise<void> {
    // An append after this step must not join a batch written before it (a sync or a drop decided now).
    this.#batch = undefined;
    const run = this.#chain.then(async () => {
      this.#checkHealthy();
      try {
        await step();
      } catch (error) {
        this.#failure ??= error;
        throw error;
      }
    });
    this.#chain = run.catch(() => undefined);
    return run;
  }

  #checkHealthy(): void {
    if (this.#failure !== undefined) {
      throw new Error(`the ${this.#options.kind} log failed and must be recovered`, { cause: this.#failure });
    }
  }
}
