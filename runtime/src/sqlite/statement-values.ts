// Values in and out of a connection's statements (connection.ts invariant 2): parameters bound by their
// storage class, and columns read by their type, with blobs copied out of SQLite's memory.
//
// Invariants:
// 1. Integers are bound as int64 (one past 64 bits is a SQLITE_MISMATCH SqlError) and reals with
//    sqlite3_bind_double (oo1's bind(number) turns 2.0 into INTEGER and 1e300 into 0).
// 2. The text the guest sent and blobs are copied into an arena SQLite reads in place while the
//    statement runs (SQLITE_STATIC: no allocation and no free per value), from its start at each `bind`.
//    The connection clears every statement's bindings before another statement is bound, and
//    executeBatch binds every parameter of a row again before stepping it, so nothing bound points at a
//    reused byte.
import { GuestAsciiText, GuestText } from '../reducer/abi.js';
import type { Value } from '../value.js';
import { SqlError } from './sql-error.js';
import {
  SQLITE_BLOB,
  SQLITE_FLOAT,
  SQLITE_INTEGER,
  SQLITE_MISMATCH,
  SQLITE_OK,
  SQLITE_RANGE,
  SQLITE_TEXT,
  SQLITE_TRANSIENT,
} from './sqlite-codes.js';
import type { Sqlite3, SqliteExports, WasmPointer } from './wasm-instance.js';

/** sqlite3_bind_*'s destructor for memory that stays valid while the statement runs: no copy. */
const SQLITE_STATIC = 0 as WasmPointer;
const MIN_ARENA_BYTES = 1024;
const MIN_INT64 = -(2n ** 63n);
const MAX_INT64 = 2n ** 63n - 1n;
const utf8 = new TextDecoder();

export class StatementValues {
  readonly #sqlite3: Sqlite3;
  readonly #c: SqliteExports;
  /** The connection's SqlError for a failed bind's result code. */
  readonly #error: (rc: number) => SqlError;
  /** Where the guest's text and blobs are copied for SQLite to read in place (invariant 2). */
  #arena: WasmPointer = 0;
  #arenaSize = 0;
  #arenaUsed = 0;

  constructor(sqlite3: Sqlite3, c: SqliteExports, error: (rc: number) => SqlError) {
    this.#sqlite3 = sqlite3;
    this.#c = c;
    this.#error = error;
  }

  bind(stmt: WasmPointer, params: readonly Value[]): void {
    const c = this.#c;
    const expected = c.sqlite3_bind_parameter_count(stmt);
    if (params.length !== expected) {
      throw new SqlError(SQLITE_RANGE, `statement takes ${expected} parameters, got ${params.length}`);
    }
    let bytes = 0;
    for (let i = 0; i < params.length; i++) {
      const value = params[i]!;
      if (value instanceof GuestText || value instanceof GuestAsciiText) bytes += value.utf8.length;
      else if (value.tag === 'blob') bytes += value.val.length;
    }
    this.#reserveArena(bytes);
    for (let i = 0; i < params.length; i++) {
      const index = i + 1;
      const value = params[i]!;
      let rc: number;
      switch (value.tag) {
        case 'null':
          rc = c.sqlite3_bind_null(stmt, index);
          break;
        case 'integer':
          if (value.val < MIN_INT64 || value.val > MAX_INT64) {
            throw new SqlError(SQLITE_MISMATCH, `parameter ${index}: integer ${value.val} exceeds 64 bits`);
          }
          rc = c.sqlite3_bind_int64(stmt, index, value.val);
          break;
        case 'real':
          rc = c.sqlite3_bind_double(stmt, index, value.val);
          break;
        case 'text': {
          // Text the guest sent is copied into the arena as the UTF-8 it arrived in; other text is
          // encoded into a copy SQLite copies again (SQLITE_TRANSIENT), freed here however binding went.
          if (value instanceof GuestText || value instanceof GuestAsciiText) {
            const bytes = value.utf8;
            rc = c.sqlite3_bind_text(stmt, index, this.#arenaCopy(bytes), bytes.length, SQLITE_STATIC);
          } else {
            const [pointer, length] = this.#sqlite3.allocCString(value.val);
            try {
              rc = c.sqlite3_bind_text(stmt, index, pointer, length, SQLITE_TRANSIENT);
            } finally {
              this.#sqlite3.dealloc(pointer);
            }
          }
          break;
        }
        case 'blob':
          // A zero-length copy would be a NULL pointer, which binds SQL NULL.
          rc =
            value.val.length === 0
              ? c.sqlite3_bind_zeroblob(stmt, index, 0)
              : c.sqlite3_bind_blob(stmt, index, this.#arenaCopy(value.val), value.val.length, SQLITE_STATIC);
          break;
      }
      if (rc !== SQLITE_OK) throw this.#error(rc);
    }
  }

  column(stmt: WasmPointer, index: number): Value {
    const c = this.#c;
    switch (c.sqlite3_column_type(stmt, index)) {
      case SQLITE_INTEGER:
        return { tag: 'integer', val: c.sqlite3_column_int64(stmt, index) };
      case SQLITE_FLOAT:
        return { tag: 'real', val: c.sqlite3_column_double(stmt, index) };
      case SQLITE_TEXT: {
        // Text first, then its length: sqlite3_column_bytes after the conversion, as SQLite documents.
        const pointer = c.sqlite3_column_text(stmt, index);
        const length = c.sqlite3_column_bytes(stmt, index);
        return { tag: 'text', val: utf8.decode(this.#sqlite3.heap8u().subarray(pointer, pointer + length)) };
      }
      case SQLITE_BLOB: {
        const pointer = c.sqlite3_column_blob(stmt, index);
        const length = c.sqlite3_column_bytes(stmt, index);
        return { tag: 'blob', val: this.#sqlite3.heap8u().slice(pointer, pointer + length) };
      }
      default:
        return { tag: 'null' };
    }
  }

  /** Frees the arena (the connection closed). */
  dispose(): void {
    if (this.#arena !== 0) this.#sqlite3.dealloc(this.#arena);
    this.#arena = 0;
    this.#arenaSize = 0;
  }

  /** Makes the arena hold `bytes` from its start; what the previous statement bound there is done with. */
  #reserveArena(bytes: number): void {
    this.#arenaUsed = 0;
    if (bytes <= this.#arenaSize && this.#arena !== 0) return;
    const sqlite3 = this.#sqlite3;
    const size = Math.max(bytes, 2 * this.#arenaSize, MIN_ARENA_BYTES);
    const arena = sqlite3.alloc(size);
    if (this.#arena !== 0) sqlite3.dealloc(this.#arena);
    this.#arena = arena;
    this.#arenaSize = size;
  }

  /** Copies `bytes` into the arena's next free bytes (reserved by #reserveArena); a non-NULL pointer even for none. */
  #arenaCopy(bytes: Uint8Array): WasmPointer {
    const pointer = (this.#arena + this.#arenaUsed) as WasmPointer;
    this.#sqlite3.heap8u().set(bytes, pointer);
    this.#arenaUsed += bytes.length;
    return pointer;
  }
}
