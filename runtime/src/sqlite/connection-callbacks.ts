// The authorizer and the progress handler of every connection (connection.ts invariants 4 and 5): one
// pair of function-table entries per SQLite instance, made once (the library's wrappers compiled a
// wasm module for each, at each connection's open), which find their connection by the sqlite3* SQLite
// hands them back as context.
//
// Invariants:
// 1. A JS exception never unwinds through SQLite's frames: the authorizer denies instead (SQLITE_ERROR,
//    as the library's wrapper did).
// 2. A callback for a database no connection is attached to allows (authorizer) and never interrupts
//    (progress handler).
import { SQLITE_ERROR } from './sqlite-codes.js';
import { installCallbacks } from './wasm-callbacks.js';
import type { Sqlite3, SqliteExports, WasmPointer } from './wasm-instance.js';

/** What a connection answers SQLite's callbacks with. */
export interface ConnectionCallbacks {
  /**
   * The authorizer's answer (SQLITE_OK, SQLITE_DENY, …) to one action, with its arguments as
   * sqlite3_set_authorizer documents them; null where SQLite gives none.
   */
  authorize(action: number, arg1: string | null, arg2: string | null, database: string | null): number;
  /** Called every `progressInterval` VM steps of any statement; non-zero interrupts it. */
  progress(): number;
}

/** The authorizer and progress handler every connection shares, as function table entries. */
interface Trampolines {
  readonly authorize: WasmPointer;
  readonly progress: WasmPointer;
}

/** Attached connections by their sqlite3* (the context SQLite hands the trampolines back). */
const attached = new Map<WasmPointer, ConnectionCallbacks>();
const trampolines = new WeakMap<Sqlite3, Trampolines>();

/** Makes `callbacks` the authorizer and progress handler of the database `db`. */
export function attachCallbacks(
  sqlite3: Sqlite3,
  c: SqliteExports,
  db: WasmPointer,
  callbacks: ConnectionCallbacks,
  progressInterval: number,
): void {
  const { authorize, progress } = trampolinesOf(sqlite3);
  attached.set(db, callbacks);
  c.sqlite3_set_authorizer(db, authorize, db);
  c.sqlite3_progress_handler(db, progressInterval, progress, db);
}

/** Forgets the database `db` once it closed: its address may be another database's next. */
export function detachCallbacks(db: WasmPointer): void {
  attached.delete(db);
}

function trampolinesOf(sqlite3: Sqlite3): Trampolines {
  let made = trampolines.get(sqlite3);
  if (made !== undefined) return made;
  const text = sqlite3.cString;
  const [authorize, progress] = installCallbacks(sqlite3, [
    {
      signature: 'i(pissss)',
      // A JS exception must not unwind through SQLite's frames: it denies (invariant 1).
      fn: (pDb: WasmPointer, action: number, arg1: WasmPointer, arg2: WasmPointer, database: WasmPointer) => {
        try {
          const callbacks = attached.get(pDb);
          return callbacks === undefined
            ? 0
            : callbacks.authorize(action, text(arg1), text(arg2), text(database));
        } catch {
          return SQLITE_ERROR;
        }
      },
    },
    {
      signature: 'i(p)',
      fn: (pDb: WasmPointer) => {
        const callbacks = attached.get(pDb);
        return callbacks === undefined ? 0 : callbacks.progress();
      },
    },
  ]);
  made = { authorize: authorize!, progress: progress! };
  trampolines.set(sqlite3, made);
  return made;
}
