// The column names of a connection's cached statements, read from SQLite's memory and given again while
// they stand.
//
// Invariants:
// 1. The names given for a statement are the ones SQLite holds for it now: those read last time are
//    given again (the same frozen array) only while SQLite's name for each column is still at the same
//    address with the same bytes; a statement prepared again (a schema change) makes new names.
// 2. Only all-ASCII names are remembered (compared byte for byte); others are read at every call.
// 3. A finalized statement is forgotten (`forget`): its address may be another statement's next.
import type { Sqlite3, WasmPointer } from './wasm-instance.js';

const utf8 = new TextDecoder();

export class ColumnNames {
  readonly #sqlite3: Sqlite3;
  /** sqlite3_column_name, straight from the wasm exports. */
  readonly #name: (stmt: WasmPointer, column: number) => WasmPointer;
  readonly #known = new Map<
    WasmPointer,
    { readonly pointers: readonly WasmPointer[]; readonly names: readonly string[] }
  >();

  constructor(sqlite3: Sqlite3, name: (stmt: WasmPointer, column: number) => WasmPointer) {
    this.#sqlite3 = sqlite3;
    this.#name = name;
  }

  forget(stmt: WasmPointer): void {
    this.#known.delete(stmt);
  }

  /**
   * The statement's column names. Those read last time are given again (the same frozen array) while
   * SQLite's name for each column is still at the same address with the same bytes; a statement
   * prepared again (a schema change) makes new names, which are read again.
   */
  of(stmt: WasmPointer, width: number): readonly string[] {
    const known = this.#known.get(stmt);
    if (known !== undefined && known.names.length === width) {
      const heap = this.#sqlite3.heap8u();
      let same = true;
      for (let i = 0; i < width && same; i++) {
        const pointer = this.#name(stmt, i);
        same = pointer === known.pointers[i] && sameAscii(heap, pointer, known.names[i]!);
      }
      if (same) return known.names;
    }
    const pointers: WasmPointer[] = [];
    const names: string[] = [];
    let ascii = true;
    for (let i = 0; i < width; i++) {
      const pointer = this.#name(stmt, i);
      const name = this.#read(pointer);
      pointers.push(pointer);
      names.push(name);
      ascii &&= pointer !== 0 && isAsciiName(name);
    }
    Object.freeze(names);
    if (ascii) this.#known.set(stmt, { pointers, names });
    else this.#known.delete(stmt);
    return names;
  }

  /** A column's name, read straight from SQLite's memory (the library's wrapper costs more than the query). */
  #read(pointer: WasmPointer): string {
    if (pointer === 0) return '';
    const heap = this.#sqlite3.heap8u();
    let end = pointer;
    let ascii = true;
    for (; heap[end] !== 0; end++) if (heap[end]! >= 0x80) ascii = false;
    if (ascii && end - pointer <= 64) return String.fromCharCode(...heap.subarray(pointer, end));
    return utf8.decode(heap.subarray(pointer, end));
  }
}

function isAsciiName(name: string): boolean {
  for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) >= 0x80) return false;
  return true;
}

/** Whether the NUL-terminated string at `pointer` is exactly the ASCII `name`. */
function sameAscii(heap: Uint8Array, pointer: number, name: string): boolean {
  if (heap[pointer + name.length] !== 0) return false;
  for (let i = 0; i < name.length; i++) if (heap[pointer + i] !== name.charCodeAt(i)) return false;
  return true;
}
