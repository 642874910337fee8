// The entries a segment log's recovery read (segment-log.ts), kept as where their records lie in the
// bytes read: a few numbers per entry in arrays, no object or view of its own. A timeline holds one
// record per pending mutation (20,000 are a normal open), and objects made for each one survive the
// young generation's collections, which copy them. A reader that wants LogEntry objects asks for them.
//
// Invariants:
// 1. Entry i is the record of type `type(i)` whose payload after its u64 lsn lies in `bytes(i)` from
//    `start(i)` to `end(i)`, and whose lsn is `lsn(i)`; entries are in the order recovery returns them
//    (gap-free, lsn order).
// 2. The bytes are the store's reads, which nothing writes to: views of them stay valid.
import { RECORD_HEAD, RECORD_TAIL, type RecordType } from './record.js';

export interface LogEntry {
  readonly lsn: number;
  /** The record type it was appended with (one of the log's). */
  readonly type: RecordType;
  readonly payload: Uint8Array;
}

/** Bytes of a log record before its payload's first byte after the lsn: length, type, lsn. */
const BEFORE_PAYLOAD = RECORD_HEAD + 8;

export class EntryList {
  readonly #bytes: Uint8Array[] = [];
  readonly #starts: number[] = [];
  readonly #ends: number[] = [];
  readonly #lsns: number[] = [];
  readonly #types: RecordType[] = [];
  #array: LogEntry[] | undefined;
  /** Whether each entry's lsn follows the one before (kept as they come: no second walk). */
  #consecutive = true;
  /** Whether each entry's record starts where the one before ends, in the same bytes. */
  #contiguous = true;

  /** Appends an entry (invariant 1). */
  push(bytes: Uint8Array, start: number, end: number, lsn: number, type: RecordType): void {
    const last = this.#lsns.length - 1;
    if (last >= 0) {
      if (lsn !== this.#lsns[last]! + 1) this.#consecutive = false;
      if (bytes !== this.#bytes[last] || start - BEFORE_PAYLOAD !== this.#ends[last]! + RECORD_TAIL) {
        this.#contiguous = false;
      }
    }
    this.#bytes.push(bytes);
    this.#starts.push(start);
    this.#ends.push(end);
    this.#lsns.push(lsn);
    this.#types.push(type);
    this.#array = undefined;
  }

  get length(): number {
    return this.#lsns.length;
  }

  lsn(i: number): number {
    return this.#lsns[i]!;
  }

  type(i: number): RecordType {
    return this.#types[i]!;
  }

  bytes(i: number): Uint8Array {
    return this.#bytes[i]!;
  }

  start(i: number): number {
    return this.#starts[i]!;
  }

  end(i: number): number {
    return this.#ends[i]!;
  }

  /** Entry `i`'s payload after its lsn, a view. */
  payload(i: number): Uint8Array {
    return this.#bytes[i]!.subarray(this.#starts[i], this.#ends[i]);
  }

  /** Whether the lsns run from the first one without a gap. */
  consecutive(): boolean {
    return this.#consecutive;
  }

  /** The index of the first entry whose lsn is above `lsn` (the length when none is). */
  firstAbove(lsn: number): number {
    const lsns = this.#lsns;
    let low = 0;
    let high = lsns.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (lsns[mid]! > lsn) high = mid;
      else low = mid + 1;
    }
    return low;
  }

  /**
   * The records of entries `from` to `to` (excluded) as the log's files hold them, in order: a view
   * when they lie end to end in one read, else a copy.
   */
  records(from: number, to: number): Uint8Array {
    if (from >= to) return new Uint8Array(0);
    const begin = (i: number): number => this.#starts[i]! - BEFORE_PAYLOAD;
    const finish = (i: number): number => this.#ends[i]! + RECORD_TAIL;
    const first = this.#bytes[from]!;
    if (this.#contiguous) return first.subarray(begin(from), finish(to - 1));
    let contiguous = true;
    let length = 0;
    for (let i = from; i < to; i++) {
      length += finish(i) - begin(i);
      if (i > from && (this.#bytes[i] !== this.#bytes[i - 1] || begin(i) !== finish(i - 1)))
        contiguous = false;
    }
    if (contiguous) return first.subarray(begin(from), finish(to - 1));
    const bytes = new Uint8Array(length);
    let at = 0;
    for (let i = from; i < to; i++) {
      bytes.set(this.#bytes[i]!.subarray(begin(i), finish(i)), at);
      at += finish(i) - begin(i);
    }
    return bytes;
  }

  /** The entries as objects, made once. */
  toArray(): readonly LogEntry[] {
    this.#array ??= this.#lsns.map((lsn, i) => ({ lsn, type: this.#types[i]!, payload: this.payload(i) }));
    return this.#array;
  }
}
