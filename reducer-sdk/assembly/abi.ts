// Canonical-ABI plumbing for the `tandem:reducer/reducer@0.2.0` world. Invariants:
// 1. Every buffer the host lowers into this module comes from `cabi_realloc` (unmanaged `heap.alloc`)
//    and is the module's to free: it is lifted into managed objects, then freed at once.
// 2. Every buffer this module hands back from an export is unmanaged and freed by the matching
//    `cabi_post_*`, so the `__collect()` that ends each export cannot reclaim what the host still reads.
// 3. Buffers lowered for an import call may be managed: the minimal runtime collects only when an
//    export calls `__collect()`, never during a call. A text the JSON decoder made from a plain slice
//    is lowered as a pointer to that slice in the decoder's copy of its input (utf8-origin.ts).
// Layouts (bytes): value 16 (tag u8, payload at 8), string and list (ptr u32, len u32) 8,
// sql-error 12 (code s32, message at 4), result<u64,sql-error> 24 (payload at 8),
// result<row-set,sql-error> 20 (payload at 4), result<_,string> 12.

import { envLog, sqlExecute, sqlExecuteBatch, sqlQuery } from './imports';
import { originOf } from './utf8-origin';
import { Value, ValueKind } from './value';

export { envEnter, envNow, envRandom } from './imports';

const VALUE_SIZE: usize = 16;
const RET_AREA: usize = memory.data(24, 8);

export function cabiRealloc(oldPtr: usize, oldSize: usize, align: usize, newSize: usize): usize {
  if (newSize === 0) {
    if (oldPtr !== 0 && oldSize !== 0) heap.free(oldPtr);
    return align;
  }
  if (oldPtr === 0 || oldSize === 0) return heap.alloc(newSize);
  return heap.realloc(oldPtr, newSize);
}

/** Frees a buffer the host allocated through `cabi_realloc` (empty lists and strings own nothing). */
export function release(ptr: usize, len: usize): void {
  if (len > 0) heap.free(ptr);
}

/** Four UTF-16 units below 0x80 (a u64 of them) as four bytes. */
function narrow4(x: u64): u32 {
  return <u32>((x & 0xff) | ((x >> 8) & 0xff00) | ((x >> 16) & 0xff0000) | ((x >> 24) & 0xff000000));
}

/** Set in a u64 of four UTF-16 units when one of them is not ASCII. */
const NON_ASCII: u64 = <u64>0xff80ff80 * 0x100000001;

/**
 * The bytes `s` takes in UTF-8 (lone surrogates as U+FFFD): exact, so that lowering a large text costs
 * no more memory than encoding it did. ASCII is checked eight units at a time.
 */
function utf8Length(s: string): usize {
  const n = <usize>s.length;
  const src = changetype<usize>(s);
  let i: usize = 0;
  for (; i + 8 <= n; i += 8) {
    if (((load<u64>(src + (i << 1)) | load<u64>(src + (i << 1), 8)) & NON_ASCII) !== 0) break;
  }
  for (; i < n; i++) if (load<u16>(src + (i << 1)) >= 0x80) return String.UTF8.byteLength(s);
  return n;
}

/**
 * Writes `s` as UTF-8 at `dst` (room for `utf8Length(s)`) and returns its length: what
 * `String.UTF8.encode(s, false, REPLACE)` gives. ASCII, the common case, is narrowed eight units at a
 * time; from the first other unit on, the standard encoder takes over.
 */
function encodeInto(s: string, dst: usize): usize {
  const n = <usize>s.length;
  const src = changetype<usize>(s);
  let i: usize = 0;
  for (; i + 8 <= n; i += 8) {
    const a = load<u64>(src + (i << 1));
    const b = load<u64>(src + (i << 1), 8);
    if (((a | b) & NON_ASCII) !== 0) break;
    store<u64>(dst + i, <u64>narrow4(a) | ((<u64>narrow4(b)) << 32));
  }
  for (; i < n; i++) {
    const u = load<u16>(src + (i << 1));
    if (u >= 0x80) {
      const rest = <i32>(n - i);
      return (
        i + String.UTF8.encodeUnsafe(src + (i << 1), rest, dst + i, false, String.UTF8.ErrorMode.REPLACE)
      );
    }
    store<u8>(dst + i, <u8>u);
  }
  return n;
}

/** A UTF-8 copy of `s` in a managed buffer, valid until the next `__collect()`. */
function utf8(s: string): ArrayBuffer {
  return String.UTF8.encode(s, false, String.UTF8.ErrorMode.REPLACE);
}

/** A UTF-8 copy of `s` in an unmanaged buffer; writes (ptr, len) at `at`. */
export function lowerOwnedString(s: string, at: usize): void {
  const len = String.UTF8.byteLength(s);
  const ptr = len > 0 ? heap.alloc(len) : 1;
  if (len > 0)
    String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, ptr, false, String.UTF8.ErrorMode.REPLACE);
  store<u32>(at, <u32>ptr);
  store<u32>(at, <u32>len, 4);
}

export function liftString(ptr: usize, len: usize): string {
  const s = String.UTF8.decodeUnsafe(ptr, len);
  release(ptr, len);
  return s;
}

export function liftBytes(ptr: usize, len: usize): Uint8Array {
  const bytes = copyBytes(ptr, len);
  release(ptr, len);
  return bytes;
}

/** A copy of the `len` bytes at `ptr` (not zero-filled first, as `new Uint8Array(len)` would be). */
export function copyBytes(ptr: usize, len: usize): Uint8Array {
  const buffer = __new(len, idof<ArrayBuffer>());
  memory.copy(buffer, ptr, len);
  return Uint8Array.wrap(changetype<ArrayBuffer>(buffer));
}

/**
 * One import call's arguments, lowered into a single managed buffer (invariant 3): its lists of
 * values first (8-aligned), then the UTF-8 of the SQL and of every text value. Sized by a first
 * pass (`valuesSize`, `utf8Length`), filled by a second; `textAt` is where the next UTF-8 goes.
 */
let lowering: usize = 0;
let textAt: usize = 0;

/** Only strings longer than this are noted in utf8-origin.ts (shorter ones cost less to encode). */
const NOTED_FROM = 16;

function valuesSize(values: Value[]): usize {
  let size = <usize>values.length * VALUE_SIZE;
  for (let i = 0, n = values.length; i < n; i++) {
    const v = unchecked(values[i]);
    if (v.kind === ValueKind.Text) {
      const t = v.asText()!;
      if (t.length <= NOTED_FROM || originOf(t) === 0) size += utf8Length(t);
    }
  }
  return size;
}

/** Starts a lowering of `size` bytes whose texts begin after `lists` bytes of value lists. */
function beginLowering(size: usize, lists: usize): void {
  lowering = __new(size, idof<ArrayBuffer>());
  textAt = lowering + lists;
}

/** Writes `s`'s UTF-8 at `textAt`, and (ptr, len) at `slot`. */
function lowerText(s: string, slot: usize): void {
  const len = encodeInto(s, textAt);
  store<u32>(slot, <u32>textAt);
  store<u32>(slot, <u32>len, 4);
  textAt += len;
}

/** Writes `values` at `base` (their texts at `textAt`); returns `base`, or 0 for none. */
function lowerValues(values: Value[], base: usize): usize {
  const n = values.length;
  if (n === 0) return 0;
  for (let i = 0; i < n; i++) {
    const v = unchecked(values[i]);
    const at = base + <usize>i * VALUE_SIZE;
    store<u8>(at, <u8>v.kind);
    switch (v.kind) {
      case ValueKind.Integer:
        store<i64>(at, v.asInteger(), 8);
        break;
      case ValueKind.Real:
        store<f64>(at, v.asReal(), 8);
        break;
      case ValueKind.Text: {
        const t = v.asText()!;
        const origin = t.length <= NOTED_FROM ? 0 : originOf(t);
        if (origin === 0) {
          lowerText(t, at + 8);
        } else {
          // Its UTF-8 already lies in memory, one byte per unit (utf8-origin.ts).
          store<u32>(at, <u32>origin, 8);
          store<u32>(at, <u32>t.length, 12);
        }
        break;
      }
      case ValueKind.Blob: {
        const blob = v.asBlob()!;
        store<u32>(at, <u32>blob.dataStart, 8);
        store<u32>(at, <u32>blob.byteLength, 12);
        break;
      }
      default:
        break;
    }
  }
  return base;
}

/** Lowers `sql` and `params`; the SQL's (ptr, len) lands in SQL_SLOT, the params' pointer is returned. */
const SQL_SLOT: usize = memory.data(8, 4);

function lowerStatement(sql: string, params: Value[]): usize {
  const lists = <usize>params.length * VALUE_SIZE;
  beginLowering(valuesSize(params) + utf8Length(sql), lists);
  lowerText(sql, SQL_SLOT);
  return lowerValues(params, lowering);
}

function liftValue(at: usize): Value {
  const tag = load<u8>(at);
  if (tag === ValueKind.Integer) return Value.integer(load<i64>(at, 8));
  if (tag === ValueKind.Real) return Value.real(load<f64>(at, 8));
  if (tag === ValueKind.Text) return Value.text(liftString(load<u32>(at, 8), load<u32>(at, 12)));
  if (tag === ValueKind.Blob) return Value.blob(liftBytes(load<u32>(at, 8), load<u32>(at, 12)));
  return Value.null();
}

/** The count of the last `callExecute` or `callExecuteBatch` (0 when it failed). */
let changes: u64 = 0;
/** SQLite's extended result code of the last call's error (0 when it succeeded). */
let code: i32 = 0;

export function lastChanges(): u64 {
  return changes;
}

export function lastCode(): i32 {
  return code;
}

/** Reads a `sql-error` at `at`: its code goes to `code`, its message is returned. */
function liftSqlError(at: usize): string {
  code = load<i32>(at);
  return liftString(load<u32>(at, 4), load<u32>(at, 8));
}

/** Reads a `result<u64, sql-error>` from the return area: the error, or null (the count goes to `changes`). */
function liftCountResult(): string | null {
  if (load<u8>(RET_AREA) === 0) {
    changes = load<u64>(RET_AREA, 8);
    code = 0;
    return null;
  }
  changes = 0;
  return liftSqlError(RET_AREA + 8);
}

/** Runs `execute`: SQLite's error, or null (then `lastChanges()` is the count). */
export function callExecute(sql: string, params: Value[]): string | null {
  const ptr = lowerStatement(sql, params);
  sqlExecute(load<u32>(SQL_SLOT), load<u32>(SQL_SLOT, 4), ptr, params.length, RET_AREA);
  return liftCountResult();
}

/** Runs `execute-batch`: SQLite's error, or null (then `lastChanges()` is the total). */
export function callExecuteBatch(sql: string, rows: Value[][]): string | null {
  const n = rows.length;
  // The row lists, then every row's values (both 8-aligned: a list entry is 8 bytes), then texts.
  let lists = <usize>n * 8;
  let size = lists + utf8Length(sql);
  for (let i = 0; i < n; i++) {
    const row = unchecked(rows[i]);
    lists += <usize>row.length * VALUE_SIZE;
    size += valuesSize(row);
  }
  beginLowering(size, lists);
  lowerText(sql, SQL_SLOT);
  const ptr = n > 0 ? lowering : 0;
  let values = lowering + <usize>n * 8;
  for (let i = 0; i < n; i++) {
    const row = unchecked(rows[i]);
    store<u32>(ptr + <usize>i * 8, <u32>lowerValues(row, values));
    store<u32>(ptr + <usize>i * 8, <u32>row.length, 4);
    values += <usize>row.length * VALUE_SIZE;
  }
  sqlExecuteBatch(load<u32>(SQL_SLOT), load<u32>(SQL_SLOT, 4), ptr, n, RET_AREA);
  return liftCountResult();
}

/** What `query` lifts: columns and rows, or the error. */
export class RowsResult {
  constructor(
    public columns: string[],
    public rows: Value[][],
    public error: string | null,
  ) {}
}

export function callQuery(sql: string, params: Value[]): RowsResult {
  const ptr = lowerStatement(sql, params);
  sqlQuery(load<u32>(SQL_SLOT), load<u32>(SQL_SLOT, 4), ptr, params.length, RET_AREA);
  if (load<u8>(RET_AREA) !== 0) return new RowsResult([], [], liftSqlError(RET_AREA + 4));
  code = 0;
  const columnsPtr = <usize>load<u32>(RET_AREA, 4);
  const columnsLen = <usize>load<u32>(RET_AREA, 8);
  const rowsPtr = <usize>load<u32>(RET_AREA, 12);
  const rowsLen = <usize>load<u32>(RET_AREA, 16);
  const columns = new Array<string>(<i32>columnsLen);
  for (let i: usize = 0; i < columnsLen; i++) {
    const at = columnsPtr + i * 8;
    columns[<i32>i] = liftString(load<u32>(at), load<u32>(at, 4));
  }
  release(columnsPtr, columnsLen);
  const rows = new Array<Value[]>(<i32>rowsLen);
  for (let r: usize = 0; r < rowsLen; r++) {
    const valuesPtr = <usize>load<u32>(rowsPtr + r * 8);
    const valuesLen = <usize>load<u32>(rowsPtr + r * 8, 4);
    const row = new Array<Value>(<i32>valuesLen);
    for (let c: usize = 0; c < valuesLen; c++) {
      row[<i32>c] = liftValue(valuesPtr + c * VALUE_SIZE);
    }
    release(valuesPtr, valuesLen);
    rows[<i32>r] = row;
  }
  release(rowsPtr, rowsLen);
  return new RowsResult(columns, rows, null);
}

export function callLog(level: u32, message: string): void {
  const text = utf8(message);
  envLog(level, changetype<usize>(text), text.byteLength);
}
