// SQL_LIMITS on one connection (connection.ts invariant 6): set when it opens, and lifted to SQLite's
// own defaults only around the application's reads, which the rules of what a reducer may do do not bind.
//
// Invariants:
// 1. A connection whose SQLite build refuses one of SQL_LIMITS is refused when it opens.
// 2. `restore` sets back exactly the limits `lift` changed (those whose default differs from ours).
import { SQL_LIMITS } from '../reducer/limits.js';
import { SQLITE_LIMITS } from './sqlite-codes.js';
import type { WasmPointer } from './wasm-instance.js';

type SetLimit = (db: WasmPointer, id: number, value: number) => number;

export class ConnectionLimits {
  readonly #setLimit: SetLimit;
  readonly #db: WasmPointer;
  /** The limits SQL_LIMITS changes: their id, SQLite's default and ours. */
  readonly #changed: readonly { readonly id: number; readonly lifted: number; readonly kept: number }[];

  /** Sets SQL_LIMITS on `db` (invariant 1); `setLimit` is sqlite3_limit, straight from the wasm exports. */
  constructor(db: WasmPointer, setLimit: SetLimit) {
    this.#setLimit = setLimit;
    this.#db = db;
    const changed: { id: number; lifted: number; kept: number }[] = [];
    for (const [name, value] of Object.entries(SQL_LIMITS)) {
      const id = SQLITE_LIMITS[name as keyof typeof SQL_LIMITS];
      const lifted = setLimit(db, id, value);
      if (setLimit(db, id, -1) !== value) {
        throw new Error(`this SQLite build refuses SQLITE_LIMIT_${name} = ${value}`);
      }
      if (lifted !== value) changed.push({ id, lifted, kept: value });
    }
    this.#changed = changed;
  }

  /** SQLite's defaults, for an application's read. */
  lift(): void {
    for (const { id, lifted } of this.#changed) this.#setLimit(this.#db, id, lifted);
  }

  /** SQL_LIMITS again (invariant 2). */
  restore(): void {
    for (const { id, kept } of this.#changed) this.#setLimit(this.#db, id, kept);
  }
}
