// The canonical ABI (CanonicalABI.md, 32-bit memory, UTF-8 strings) for the types of the world
// `tandem:reducer@0.2.0`, written out by hand: lowering stores host values into guest memory through
// the guest's `cabi_realloc`; lifting reads guest values out and copies them.
//
// Invariants:
// 1. Views are taken fresh after every call into the guest (`Heap.alloc` refreshes them): any guest
//    allocation may grow memory and detach the old buffer.
// 2. Every pointer and length the guest hands over is checked (alignment, then end within memory)
//    before it is read; a violation is a ReducerTrap naming what was wrong, never a RangeError.
// 3. A zero-length string or list is lowered as (align, 0) without calling realloc; everything
//    else is allocated with its type's alignment, and realloc's answer is checked like a pointer.
// 4. Lifted strings and blobs are copies: guest memory is reused after the call. A lifted text value
//    (`GuestText`) also carries its UTF-8 bytes as a view of guest memory, for binding them without
//    encoding the string again: that view is only read inside the import that lifted it, before the
//    guest runs again (connection.ts). For a host that reads texts only during the call, an ASCII
//    text's string is made from that view only if read (`GuestAsciiText`).
//
// Layouts (size/alignment/payload offset; discriminants are u8 at offset 0):
//   string, list<T>        8 / 4        (ptr, len)
//   value                  16 / 8 / 8   null | s64 | f64 | string | list<u8>
//   mutation               32 / 8       timeline-id 0, lsn 8, timestamp 16, payload 24
//   result<_, string>      12 / 4 / 4
//   sql-error              12 / 4       code (s32) 0, message 4
//   result<u64, sql-error> 24 / 8 / 8
//   row-set                16 / 4       columns 0, rows 8
//   result<row-set, sql-error> 20 / 4 / 4

import type { RowSet, Value } from '../value.js';
import { ReducerTrap } from './errors.js';

export interface MutationEnvelope {
  readonly timelineId: string;
  readonly lsn: number;
  readonly timestamp: number;
  readonly payload: Uint8Array;
}

export type Outcome = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** What lowering needs from a guest: its memory and its allocator. */
export interface Guest {
  readonly memory: { readonly buffer: ArrayBuffer };
  realloc(oldPtr: number, oldSize: number, align: number, newSize: number): number;
}

export const VALUE_SIZE = 16;
export const MUTATION_SIZE = 32;
const UNIT_RESULT_SIZE = 12;

/** Where a result<T, sql-error> return area keeps its payload. */
export interface ResultLayout {
  readonly name: string;
  readonly size: number;
  readonly align: number;
  readonly payload: number;
}

export const U64_RESULT: ResultLayout = { name: 'result<u64, sql-error>', size: 24, align: 8, payload: 8 };
export const ROW_SET_RESULT: ResultLayout = {
  name: 'result<row-set, sql-error>',
  size: 20,
  align: 4,
  payload: 4,
};

const OK: Outcome = Object.freeze({ ok: true });
const NULL: Value = Object.freeze({ tag: 'null' });
const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** The guest's memory, with views that follow it when it grows. */
export class Heap {
  private readonly guest: Guest;
  private buffer: ArrayBuffer;
  u8: Uint8Array;
  u32: Uint32Array;
  dv: DataView;

  constructor(guest: Guest) {
    this.guest = guest;
    this.buffer = guest.memory.buffer;
    this.u8 = new Uint8Array(this.buffer);
    this.u32 = new Uint32Array(this.buffer);
    this.dv = new DataView(this.buffer);
  }

  /** Takes fresh views if the guest's memory has grown since the last look. */
  refresh(): void {
    // Growing a (non-shared) memory detaches its old buffer, whose length becomes 0: only then is the
    // memory asked for its buffer (a getter that costs more than the rest of a small import).
    if (this.u8.length !== 0) return;
    const buffer = this.guest.memory.buffer;
    if (buffer === this.buffer) return;
    this.buffer = buffer;
    this.u8 = new Uint8Array(buffer);
    this.u32 = new Uint32Array(buffer);
    this.dv = new DataView(buffer);
  }

  /** `size` bytes of fresh guest memory aligned to `align`; (align) for size 0 without a call. */
  alloc(align: number, size: number): number {
    if (size === 0) return align;
    if (size > 0xffff_ffff) throw new ReducerTrap(`cannot lower ${size} bytes into a 32-bit memory`);
    const ptr = this.guest.realloc(0, 0, align, size) >>> 0;
    this.refresh();
    if ((ptr & (align - 1)) !== 0)
      throw new ReducerTrap(`cabi_realloc returned ${ptr}, not aligned to ${align}`);
    if (ptr + size > this.u8.length) {
      throw new ReducerTrap(
        `cabi_realloc returned ${ptr} for ${size} bytes, past the end of memory (${this.u8.length})`,
      );
    }
    return ptr;
  }

  /** Traps unless [ptr, ptr + size) lies in memory and ptr is aligned; ptr is a u32. */
  check(ptr: number, size: number, align: number, what: string): void {
    if ((ptr & (align - 1)) !== 0) throw new ReducerTrap(`${what} at ${ptr} is not aligned to ${align}`);
    if (ptr + size > this.u8.length) {
      throw new ReducerTrap(
        `${what} at ${ptr} (${size} bytes) ends past the end of memory (${this.u8.length})`,
      );
    }
  }
}

/**
 * A text value lifted from guest memory: the string, and the UTF-8 bytes it was decoded from (the
 * decoder drops one leading byte order mark; so does `utf8`). `utf8` is a view of guest memory, valid
 * only until the import that lifted it returns (invariant 4).
 */
export class GuestText {
  readonly tag = 'text';
  readonly val: string;
  // Private, so that the value looks like any other text value (its own fields are `tag` and `val`).
  readonly #utf8: Uint8Array;

  constructor(val: string, utf8: Uint8Array) {
    this.val = val;
    this.#utf8 = utf8;
  }

  get utf8(): Uint8Array {
    return this.#utf8;
  }
}

/**
 * An ASCII text value lifted for a host that reads texts only during the call (ReducerImports
 * `readsTextDuringCall`): valid as it is (ASCII is UTF-8), so its string is made only if it is read,
 * from guest memory. Read after the import returned, it would show whatever the guest wrote there since.
 */
export class GuestAsciiText {
  readonly tag = 'text';
  readonly #utf8: Uint8Array;
  #val: string | undefined;

  constructor(utf8: Uint8Array) {
    this.#utf8 = utf8;
  }

  get val(): string {
    this.#val ??= utf8.decode(this.#utf8);
    return this.#val;
  }

  get utf8(): Uint8Array {
    return this.#utf8;
  }
}

// Lifting (guest → host). Pointers and lengths arrive as i32 and are read as u32.

export function liftString(heap: Heap, ptr: number, len: number, what = 'a string'): string {
  ptr >>>= 0;
  len >>>= 0;
  heap.check(ptr, len, 1, what);
  try {
    return utf8.decode(heap.u8.subarray(ptr, ptr + len));
  } catch {
    throw new ReducerTrap(`${what} at ${ptr} is not valid UTF-8`);
  }
}

/** SQL texts a lifter keeps: more are dropped all at once. */
const SQL_TEXTS = 64;

/**
 * Lifts the SQL a guest passes. A reducer runs a few statements again and again, so the text lifted
 * before from the same bytes is returned again: no decoding, and the same string each time, whose hash
 * the engine keeps (Connection's statement cache looks it up). Traps like `liftString`.
 */
export class SqlTexts {
  /** By length and three of the bytes, which tell apart the few statements of a reducer; the bytes decide. */
  readonly #known = new Map<
    number,
    { readonly bytes: Uint8Array; readonly words: Uint32Array; readonly text: string }
  >();

  lift(heap: Heap, ptr: number, len: number): string {
    ptr >>>= 0;
    len >>>= 0;
    heap.check(ptr, len, 1, 'the SQL');
    const u8 = heap.u8;
    const key =
      len === 0
        ? 0
        : len * 0x1000000 + ((u8[ptr]! << 16) | (u8[ptr + (len >>> 1)]! << 8) | u8[ptr + len - 1]!);
    const known = this.#known.get(key);
    if (known !== undefined && sameBytes(heap, ptr, known.bytes, known.words)) return known.text;
    const text = liftString(heap, ptr, len, 'the SQL');
    if (this.#known.size >= SQL_TEXTS) this.#known.clear();
    const bytes = u8.slice(ptr, ptr + len);
    this.#known.set(key, { bytes, words: new Uint32Array(bytes.buffer, 0, len >>> 2), text });
    return text;
  }
}

/**
 * Whether memory holds `bytes` at `ptr` (in bounds: the caller checked); `words` are their first
 * whole words, compared four bytes at a time when `ptr` is aligned (the SDK lowers SQL aligned).
 */
function sameBytes(heap: Heap, ptr: number, bytes: Uint8Array, words: Uint32Array): boolean {
  let i = 0;
  if ((ptr & 3) === 0) {
    const u32 = heap.u32;
    const at = ptr >>> 2;
    for (let w = 0; w < words.length; w++) if (u32[at + w] !== words[w]) return false;
    i = words.length << 2;
  }
  const u8 = heap.u8;
  for (; i < bytes.length; i++) if (u8[ptr + i] !== bytes[i]) return false;
  return true;
}

/** Whether the `len` bytes at `ptr` (in memory: checked) are all ASCII; four at a time where aligned. */
function isAscii(heap: Heap, ptr: number, len: number): boolean {
  const { u8, u32 } = heap;
  const end = ptr + len;
  let i = ptr;
  let seen = 0;
  for (; i < end && (i & 3) !== 0; i++) seen |= u8[i]!;
  for (; i + 4 <= end; i += 4) seen |= u32[i >>> 2]!;
  for (; i < end; i++) seen |= u8[i]!;
  return (seen & 0x80808080) === 0;
}

function liftText(heap: Heap, ptr: number, len: number, duringCall: boolean): GuestText | GuestAsciiText {
  if (duringCall) {
    heap.check(ptr, len, 1, 'a text value');
    if (isAscii(heap, ptr, len)) return new GuestAsciiText(heap.u8.subarray(ptr, ptr + len));
  }
  const val = liftString(heap, ptr, len, 'a text value');
  const bom = len >= 3 && heap.u8[ptr] === 0xef && heap.u8[ptr + 1] === 0xbb && heap.u8[ptr + 2] === 0xbf;
  const start = bom ? ptr + 3 : ptr;
  return new GuestText(val, heap.u8.subarray(start, ptr + len));
}

function liftBytes(heap: Heap, ptr: number, len: number): Uint8Array {
  heap.check(ptr, len, 1, 'a blob');
  return heap.u8.slice(ptr, ptr + len);
}

function liftValue(heap: Heap, p: number, textDuringCall: boolean): Value {
  const dv = heap.dv;
  const tag = dv.getUint8(p);
  switch (tag) {
    case 0:
      return NULL;
    case 1:
      return { tag: 'integer', val: dv.getBigInt64(p + 8, true) };
    case 2:
      return { tag: 'real', val: dv.getFloat64(p + 8, true) };
    case 3:
      return liftText(heap, dv.getUint32(p + 8, true), dv.getUint32(p + 12, true), textDuringCall);
    case 4:
      return { tag: 'blob', val: liftBytes(heap, dv.getUint32(p + 8, true), dv.getUint32(p + 12, true)) };
    default:
      throw new ReducerTrap(`a value at ${p} has case ${tag}; value has 5 cases`);
  }
}

/**
 * With `textDuringCall` (the host reads texts only during the call), an ASCII text is a GuestAsciiText,
 * whose string is made only if it is read.
 */
export function liftValues(heap: Heap, ptr: number, len: number, textDuringCall = false): Value[] {
  ptr >>>= 0;
  len >>>= 0;
  heap.check(ptr, len * VALUE_SIZE, 8, 'a list<value>');
  const values = new Array<Value>(len);
  for (let i = 0; i < len; i++) values[i] = liftValue(heap, ptr + i * VALUE_SIZE, textDuringCall);
  return values;
}

export function liftValueRows(heap: Heap, ptr: number, len: number, textDuringCall = false): Value[][] {
  ptr >>>= 0;
  len >>>= 0;
  heap.check(ptr, len * 8, 4, 'a list<list<value>>');
  const rows = new Array<Value[]>(len);
  for (let i = 0; i < len; i++) {
    const p = ptr + i * 8;
    rows[i] = liftValues(heap, heap.dv.getUint32(p, true), heap.dv.getUint32(p + 4, true), textDuringCall);
  }
  return rows;
}

/** Lifts `reduce`'s result: a pointer to (ptr, len) of a list<result<_, string>>. */
export function liftOutcomes(heap: Heap, ret: number): Outcome[] {
  ret >>>= 0;
  heap.check(ret, 8, 4, "reduce's return area");
  const ptr = heap.dv.getUint32(ret, true);
  const len = heap.dv.getUint32(ret + 4, true);
  heap.check(ptr, len * UNIT_RESULT_SIZE, 4, "reduce's list of outcomes");
  const outcomes = new Array<Outcome>(len);
  for (let i = 0; i < len; i++) outcomes[i] = liftUnitResultAt(heap, ptr + i * UNIT_RESULT_SIZE);
  return outcomes;
}

/** Lifts `migrate`'s result: a pointer to a result<_, string>. */
export function liftUnitResult(heap: Heap, ret: number, what: string): Outcome {
  ret >>>= 0;
  heap.check(ret, UNIT_RESULT_SIZE, 4, what);
  return liftUnitResultAt(heap, ret);
}

function liftUnitResultAt(heap: Heap, p: number): Outcome {
  const tag = heap.dv.getUint8(p);
  if (tag === 0) return OK;
  if (tag !== 1) throw new ReducerTrap(`a result at ${p} has case ${tag}; result has 2 cases`);
  return {
    ok: false,
    reason: liftString(
      heap,
      heap.dv.getUint32(p + 4, true),
      heap.dv.getUint32(p + 8, true),
      'a rejection reason',
    ),
  };
}

// Lowering (host → guest). Each store writes (ptr, len) or a value into a slot the caller checked or
// allocated; slots stay valid across allocations because memory only grows.

export function storeString(heap: Heap, at: number, s: string): void {
  storeBytes(heap, at, encoder.encode(s));
}

/** Short strings lowered again and again (column names, timeline ids), and their UTF-8. */
const ENCODED_STRINGS = 256;
const ENCODED_LENGTH = 64;
const encodedStrings = new Map<string, Uint8Array>();

/** The UTF-8 of `s`, kept for a short `s`: the same few names cross at every call. Read-only. */
function utf8Of(s: string): Uint8Array {
  if (s.length > ENCODED_LENGTH) return encoder.encode(s);
  let bytes = encodedStrings.get(s);
  if (bytes === undefined) {
    if (encodedStrings.size >= ENCODED_STRINGS) encodedStrings.clear();
    bytes = encoder.encode(s);
    encodedStrings.set(s, bytes);
  }
  return bytes;
}

export function storeBytes(heap: Heap, at: number, bytes: Uint8Array): void {
  const ptr = heap.alloc(1, bytes.length);
  heap.u8.set(bytes, ptr);
  heap.dv.setUint32(at, ptr, true);
  heap.dv.setUint32(at + 4, bytes.length, true);
}

function storeValue(heap: Heap, at: number, v: Value): void {
  switch (v.tag) {
    case 'null':
      heap.dv.setUint8(at, 0);
      return;
    case 'integer':
      heap.dv.setUint8(at, 1);
      heap.dv.setBigInt64(at + 8, v.val, true);
      return;
    case 'real':
      heap.dv.setUint8(at, 2);
      heap.dv.setFloat64(at + 8, v.val, true);
      return;
    case 'text':
      heap.dv.setUint8(at, 3);
      storeString(heap, at + 8, v.val);
      return;
    case 'blob':
      heap.dv.setUint8(at, 4);
      storeBytes(heap, at + 8, v.val);
  }
}

export function storeValues(heap: Heap, at: number, values: readonly Value[]): void {
  const ptr = heap.alloc(8, values.length * VALUE_SIZE);
  for (let i = 0; i < values.length; i++) storeValue(heap, ptr + i * VALUE_SIZE, values[i]!);
  heap.dv.setUint32(at, ptr, true);
  heap.dv.setUint32(at + 4, values.length, true);
}

function storeStrings(heap: Heap, at: number, strings: readonly string[]): void {
  const ptr = heap.alloc(4, strings.length * 8);
  for (let i = 0; i < strings.length; i++) storeBytes(heap, ptr + i * 8, utf8Of(strings[i]!));
  heap.dv.setUint32(at, ptr, true);
  heap.dv.setUint32(at + 4, strings.length, true);
}

function storeRows(heap: Heap, at: number, rows: readonly (readonly Value[])[]): void {
  const ptr = heap.alloc(4, rows.length * 8);
  for (let i = 0; i < rows.length; i++) storeValues(heap, ptr + i * 8, rows[i]!);
  heap.dv.setUint32(at, ptr, true);
  heap.dv.setUint32(at + 4, rows.length, true);
}

/** Writes ok(n) into a result<u64, sql-error> return area. */
export function storeOkU64(heap: Heap, ret: number, n: bigint): void {
  ret >>>= 0;
  heap.check(ret, U64_RESULT.size, U64_RESULT.align, 'a result<u64, sql-error> return area');
  heap.dv.setUint8(ret, 0);
  heap.dv.setBigUint64(ret + 8, BigInt.asUintN(64, n), true);
}

/** Writes ok(rows) into a result<row-set, sql-error> return area. */
export function storeOkRowSet(heap: Heap, ret: number, rowSet: RowSet): void {
  ret >>>= 0;
  heap.check(ret, ROW_SET_RESULT.size, ROW_SET_RESULT.align, 'a result<row-set, sql-error> return area');
  heap.dv.setUint8(ret, 0);
  storeStrings(heap, ret + 4, rowSet.columns);
  storeRows(heap, ret + 12, rowSet.rows);
}

/** Writes err({ code, message }) into a result<T, sql-error> return area; `code` is an s32. */
export function storeErr(heap: Heap, ret: number, layout: ResultLayout, code: number, message: string): void {
  ret >>>= 0;
  heap.check(ret, layout.size, layout.align, `a ${layout.name} return area`);
  heap.dv.setUint8(ret, 1);
  heap.dv.setInt32(ret + layout.payload, code | 0, true);
  storeString(heap, ret + layout.payload + 4, message);
}

/** Lowers a batch as a list<mutation>; returns its pointer (its length is the batch's). */
export function lowerBatch(heap: Heap, batch: readonly MutationEnvelope[]): number {
  const ptr = heap.alloc(8, batch.length * MUTATION_SIZE);
  // A batch's mutations mostly share a timeline: its id is encoded once (each still gets its own copy).
  let timelineId: string | undefined;
  let encodedId: Uint8Array = new Uint8Array(0);
  for (let i = 0; i < batch.length; i++) {
    const m = batch[i]!;
    const at = ptr + i * MUTATION_SIZE;
    if (m.timelineId !== timelineId) {
      timelineId = m.timelineId;
      encodedId = utf8Of(timelineId);
    }
    storeBytes(heap, at, encodedId);
    storeSafeU64(heap, at + 8, m.lsn);
    storeSafeU64(heap, at + 16, m.timestamp);
    storeBytes(heap, at + 24, m.payload);
  }
  return ptr;
}

/** Writes a non-negative safe integer as a u64, without a BigInt. */
function storeSafeU64(heap: Heap, at: number, n: number): void {
  heap.dv.setUint32(at, n >>> 0, true);
  heap.dv.setUint32(at + 4, Math.floor(n / 0x1_0000_0000), true);
}
