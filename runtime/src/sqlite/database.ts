// A database connection handle: what Tandem used of sqlite-wasm's oo1.DB (open, exec, close), over the
// C functions.
//
// Invariants:
// 1. A handle opens read-write, creating the database if missing, with extended result codes (as
//    oo1.DB's 'c' flag did), so every code a caller sees is an extended one.
// 2. A failed open leaves nothing open: the handle SQLite may return with the error is closed.

import { SqlError } from './sql-error.js';
import {
  SQLITE_OK,
  SQLITE_OPEN_CREATE,
  SQLITE_OPEN_EXRESCODE,
  SQLITE_OPEN_READWRITE,
} from './sqlite-codes.js';
import type { Sqlite3, WasmPointer } from './wasm-instance.js';

export class Database {
  readonly #sqlite3: Sqlite3;
  /** The sqlite3*; 0 once closed. */
  #pointer: WasmPointer;

  private constructor(sqlite3: Sqlite3, pointer: WasmPointer) {
    this.#sqlite3 = sqlite3;
    this.#pointer = pointer;
  }

  /** Opens `filename` on the VFS named `vfs` (SQLite's default without one). */
  static open(sqlite3: Sqlite3, filename: string, vfs?: string): Database {
    const c = sqlite3.exports;
    const [zName] = sqlite3.allocCString(filename);
    const [zVfs] = vfs === undefined ? [0] : sqlite3.allocCString(vfs);
    const ppDb = sqlite3.alloc(4);
    try {
      const flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_EXRESCODE;
      const rc = c.sqlite3_open_v2(zName, ppDb, flags, zVfs);
      const pDb = new DataView(sqlite3.heap8u().buffer).getUint32(ppDb, true);
      if (rc !== SQLITE_OK) {
        const message = pDb ? (sqlite3.cString(c.sqlite3_errmsg(pDb)) ?? '') : 'out of memory';
        // Invariant 2.
        if (pDb) c.sqlite3_close_v2(pDb);
        throw new SqlError(rc, message);
      }
      c.sqlite3_extended_result_codes(pDb, 1);
      return new Database(sqlite3, pDb);
    } finally {
      sqlite3.dealloc(ppDb);
      if (zVfs) sqlite3.dealloc(zVfs);
      sqlite3.dealloc(zName);
    }
  }

  /** The sqlite3* (0 once closed). */
  get pointer(): WasmPointer {
    return this.#pointer;
  }

  /** Runs `sql`, any number of statements without parameters; SQLite's result code (`errmsg` says why). */
  execCode(sql: string): number {
    const [zSql] = this.#sqlite3.allocCString(sql);
    try {
      return this.#sqlite3.exports.sqlite3_exec(this.#pointer, zSql, 0, 0, 0);
    } finally {
      this.#sqlite3.dealloc(zSql);
    }
  }

  /** Runs `sql` as `execCode` does; a failure throws a SqlError with SQLite's code and message. */
  exec(sql: string): void {
    const rc = this.execCode(sql);
    if (rc !== SQLITE_OK) throw new SqlError(rc, this.errmsg());
  }

  /** SQLite's message for the last failure on this connection. */
  errmsg(): string {
    return this.#sqlite3.cString(this.#sqlite3.exports.sqlite3_errmsg(this.#pointer)) ?? '';
  }

  /** Closes the connection (its statements are its owner's to finalize first); twice is once. */
  close(): void {
    if (this.#pointer === 0) return;
    this.#sqlite3.exports.sqlite3_close_v2(this.#pointer);
    this.#pointer = 0;
  }
}
