// Canonical-ABI plumbing for the `tandem:reducer/reducer@0.1.0` world. Invariants:
// 1. Every buffer the host lowers into this module comes from `cabi_realloc` (unmanaged `heap.alloc`)
//    and is the module's to free: it is lifted into managed objects, then freed at once.
// 2. Every buffer this module hands back from an export is unmanaged and freed by the matching
//    `cabi_post_*`, so the `__collect()` that ends each export cannot reclaim what the host still reads.
// 3. Buffers lowered for an import call may be managed: the minimal runtime collects only when an
//    export calls `__collect()`, never during a call.
// Layouts (bytes): value 16 (tag u8, payload at 8), string and list (ptr u32, len u32) 8,
// result<u64,string> 16 (payload at 8), result<row-set,string> 20 (payload at 4), result<_,string> 12.

import { envLog, sqlExecute, sqlExecuteBatch, sqlQuery } from './imports';
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
  const bytes = new Uint8Array(<i32>len);
  memory.copy(bytes.dataStart, ptr, len);
  release(ptr, len);
  return bytes;
}

/** Lowers `values` into a managed buffer (see invariant 3). */
function lowerValues(values: Value[]): usize {
  const n = values.length;
  if (n === 0) return 0;
  const area = new ArrayBuffer(n * <i32>VALUE_SIZE);
  const base = changetype<usize>(area);
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
        const text = utf8(v.asText()!);
        store<u32>(at, <u32>changetype<usize>(text), 8);
        store<u32>(at, <u32>text.byteLength, 12);
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

function liftValue(at: usize): Value {
  const tag = load<u8>(at);
  if (tag === ValueKind.Integer) return Value.integer(load<i64>(at, 8));
  if (tag === ValueKind.Real) return Value.real(load<f64>(at, 8));
  if (tag === ValueKind.Text) return Value.text(liftString(load<u32>(at, 8), load<u32>(at, 12)));
  if (tag === ValueKind.Blob) return Value.blob(liftBytes(load<u32>(at, 8), load<u32>(at, 12)));
  return Value.null();
}

/** Reads a `result<u64, string>` from the return area: the count, or the error (then `changes` is 0). */
export class CountResult {
  constructor(
    public changes: u64,
    public error: string | null,
  ) {}
}

function liftCountResult(): CountResult {
  if (load<u8>(RET_AREA) === 0) return new CountResult(load<u64>(RET_AREA, 8), null);
  return new CountResult(0, liftString(load<u32>(RET_AREA, 8), load<u32>(RET_AREA, 12)));
}

export function callExecute(sql: string, params: Value[]): CountResult {
  const text = utf8(sql);
  const ptr = lowerValues(params);
  sqlExecute(changetype<usize>(text), text.byteLength, ptr, params.length, RET_AREA);
  return liftCountResult();
}

export function callExecuteBatch(sql: string, rows: Value[][]): CountResult {
  const text = utf8(sql);
  const n = rows.length;
  let ptr: usize = 0;
  if (n > 0) {
    const lists = new ArrayBuffer(n * 8);
    ptr = changetype<usize>(lists);
    for (let i = 0; i < n; i++) {
      const row = unchecked(rows[i]);
      store<u32>(ptr + <usize>i * 8, <u32>lowerValues(row));
      store<u32>(ptr + <usize>i * 8, <u32>row.length, 4);
    }
  }
  sqlExecuteBatch(changetype<usize>(text), text.byteLength, ptr, n, RET_AREA);
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
  const text = utf8(sql);
  const ptr = lowerValues(params);
  sqlQuery(changetype<usize>(text), text.byteLength, ptr, params.length, RET_AREA);
  if (load<u8>(RET_AREA) !== 0) {
    return new RowsResult([], [], liftString(load<u32>(RET_AREA, 4), load<u32>(RET_AREA, 8)));
  }
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
