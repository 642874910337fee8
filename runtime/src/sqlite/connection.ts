// Typed SQL over a database handle (database.ts): what the reducer host calls for the guest's `execute` and `query`.
//
// Invariants:
// 1. `execute`, `executeBatch` and `query` run exactly one statement; SQL holding a second one is refused
//    before anything runs.
// 2. Values keep their SQLite storage class both ways: integers are int64 (bigint), reals are bound with
//    sqlite3_bind_double (oo1's bind(number) turns 2.0 into INTEGER and 1e300 into 0), and columns are
//    read by their type, with blobs copied out of SQLite's memory (statement-values.ts).
// 3. Every failure, including a wrong parameter count, is a SqlError carrying SQLite's result code; a
//    cached statement is always left reset and unbound, whatever happened.
// 4. Statements run for the reducer (`connection.guest`) are prepared under the guest policy
//    (guest-policy.ts) and cached apart from the host's: a statement the host prepared is never handed
//    to the guest unchecked, nor the reverse. The authorizer lets every host statement through
//    (connection-callbacks.ts wires it, and the progress handler of invariant 5, into SQLite).
// 5. Guest statements are metered in SQLite VM steps (sqlite3_stmt_status VM_STEP, exact per statement,
//    so a mutation's count does not depend on what ran before it). A statement still running when the
//    budget is spent is interrupted by the progress handler; either way the guest call fails and
//    `guestBudgetExhausted` stays true until the next `meterGuest`.
// 6. Every connection runs under SQL_LIMITS (limits.ts), checked when it opens. A guest statement that
//    fails with SQLITE_TOOBIG or SQLITE_NOMEM sets `guestSizeExceeded` until the next `meterGuest`, so
//    the host can reject the mutation rather than let the guest see the error: out of memory is not a
//    verdict every engine reaches at the same point. Only `read` and `authorizations` (the
//    application's reads) lift them, to SQLite's own defaults, from before preparing until the last step,
//    and restore them before returning: they are rules of what a reducer may do, not of what a reader
//    may ask, and no other statement runs meanwhile (every call is synchronous).
// 8. `read` runs only statements that leave the database and the connection as they are
//    (sqlite3_stmt_readonly, and the reader policy: no transaction control, ATTACH or PRAGMA setting):
//    the application's reads never write pages the reducer did not, with or without the limits.
// 7. A guest statement that fails and either ends the transaction it ran in (SQLite rolls a whole
//    transaction back on its own: an interrupted or failed write, RAISE(ROLLBACK), a constraint ON
//    CONFLICT ROLLBACK) or fails for a reason of the host's (SQLITE_FULL, IOERR, BUSY, CORRUPT, …)
//    sets `guestAbort` (SQLite's message) until the next `meterGuest`: the guest must not go on as
//    if it had only seen an error, and the host must not trust its savepoints any more.
import type { RowSet, Value } from '../value.js';
import { ColumnNames } from './column-names.js';
import { attachCallbacks, detachCallbacks } from './connection-callbacks.js';
import { ConnectionLimits } from './connection-limits.js';
import type { Database } from './database.js';
import { guestDenial, readerDenial } from './guest-policy.js';
import { SqlError } from './sql-error.js';
import { loadedSqlite } from './sqlite.js';
import {
  SQLITE_AUTH,
  SQLITE_BUSY,
  SQLITE_CANTOPEN,
  SQLITE_CORRUPT,
  SQLITE_DENY,
  SQLITE_DONE,
  SQLITE_ERROR,
  SQLITE_FULL,
  SQLITE_INTERRUPT,
  SQLITE_IOERR,
  SQLITE_NOMEM,
  SQLITE_NOTADB,
  SQLITE_OK,
  SQLITE_PREPARE_PERSISTENT,
  SQLITE_READONLY,
  SQLITE_ROW,
  SQLITE_STMTSTATUS_VM_STEP,
  SQLITE_TOOBIG,
} from './sqlite-codes.js';
import { type Principal, StatementCache } from './statement-cache.js';
import { StatementValues } from './statement-values.js';
import type { Sqlite3, SqliteExports, WasmPointer } from './wasm-instance.js';

export { SqlError } from './sql-error.js';

/** The progress handler runs every this many VM steps: rare enough to cost nothing measurable. */
const PROGRESS_INTERVAL = 1000;

/**
 * One question SQLite put to the authorizer: its action code (SQLITE_READ, SQLITE_FUNCTION, …) and
 * arguments, as sqlite3_set_authorizer documents them; `database` is null where SQLite gives none.
 */
export interface Authorization {
  readonly action: number;
  readonly arg1: string | null;
  readonly arg2: string | null;
  readonly database: string | null;
}

/** The reducer's view of the connection: metered, and checked by the guest policy. */
export interface GuestSql {
  execute(sql: string, params: readonly Value[]): bigint;
  executeBatch(sql: string, rows: readonly (readonly Value[])[]): bigint;
  query(sql: string, params: readonly Value[]): RowSet;
}

export class Connection {
  readonly #sqlite3: Sqlite3;
  readonly #c: SqliteExports;
  readonly #db: Database;
  readonly #pDb: WasmPointer;
  /** Prepared statements by principal (invariant 4) and SQL (statement-cache.ts). */
  readonly #statements = new StatementCache((stmt) => this.#finalize(stmt));
  /** Parameters bound and columns read (statement-values.ts), the guest's text through an arena. */
  readonly #values: StatementValues;
  /** The column names each cached statement's last query read (column-names.ts). */
  readonly #columns: ColumnNames;
  /** SQL_LIMITS, lifted around the application's reads (invariant 6, connection-limits.ts). */
  readonly #limits: ConnectionLimits;
  /** Who the statement being prepared or stepped runs for. */
  #principal: Principal = 'host';
  /** Why the guest policy refused the last guest statement, for its error message. */
  #denial: string | undefined;
  #stepBudget = Number.POSITIVE_INFINITY;
  #stepsUsed = 0;
  /** Progress callbacks during the running guest statement: each one stands for PROGRESS_INTERVAL steps at least. */
  #progressCalls = 0;
  #exhausted = false;
  #sizeExceeded = false;
  #abort: string | undefined;
  /** Where `authorizations` collects what the authorizer is asked, while it prepares. */
  #asked: Authorization[] | undefined;
  /** Primary result codes that say something about the host (its disk, its state), not the guest's SQL. */
  readonly #hostFailures: ReadonlySet<number>;

  /** The reducer's view: metered and checked statements, cached apart from the host's. */
  readonly guest: GuestSql = {
    execute: (sql, params) => this.#execute('guest', sql, params),
    executeBatch: (sql, rows) => this.#executeBatch('guest', sql, rows),
    query: (sql, params) => this.#query('guest', sql, params),
  };

  /** `db` must come from the instance `loadSqlite` returned (e.g. through the capture VFS). */
  constructor(db: Database) {
    this.#sqlite3 = loadedSqlite();
    this.#c = this.#sqlite3.exports;
    this.#db = db;
    this.#pDb = db.pointer;
    this.#values = new StatementValues(this.#sqlite3, this.#c, (rc) => this.#error(rc));
    this.#columns = new ColumnNames(this.#sqlite3, (stmt, column) =>
      this.#c.sqlite3_column_name(stmt, column),
    );
    this.#hostFailures = new Set([
      SQLITE_INTERRUPT,
      SQLITE_FULL,
      SQLITE_IOERR,
      SQLITE_BUSY,
      SQLITE_CORRUPT,
      SQLITE_NOTADB,
      SQLITE_CANTOPEN,
    ]);
    attachCallbacks(
      this.#sqlite3,
      this.#c,
      this.#pDb,
      {
        authorize: (action, arg1, arg2, database) => this.#authorize(action, arg1, arg2, database),
        progress: () => this.#progress(),
      },
      PROGRESS_INTERVAL,
    );
    this.#limits = new ConnectionLimits(this.#pDb, (db, id, value) => this.#c.sqlite3_limit(db, id, value));
  }

  /** Gives the guest's statements `steps` VM steps from now on (invariant 5). */
  meterGuest(steps: number): void {
    this.#stepBudget = steps;
    this.#stepsUsed = 0;
    this.#exhausted = false;
    this.#sizeExceeded = false;
    this.#abort = undefined;
  }

  /** SQLite's message, once a guest statement was aborted since the last `meterGuest` (invariant 7). */
  get guestAbort(): string | undefined {
    return this.#abort;
  }

  /** True once a guest statement hit SQL_LIMITS.LENGTH or SQL_LENGTH, or ran out of memory (invariant 6). */
  get guestSizeExceeded(): boolean {
    return this.#sizeExceeded;
  }

  /** True once a guest statement ran past the budget given by the last `meterGuest`. */
  get guestBudgetExhausted(): boolean {
    return this.#exhausted;
  }

  /** True while a transaction is open (SQLite is out of autocommit mode). */
  get inTransaction(): boolean {
    return this.#c.sqlite3_get_autocommit(this.#pDb) === 0;
  }

  /** Finalizes the guest's cached statements, so the next ones are prepared afresh. */
  clearGuestStatements(): void {
    this.#statements.clear('guest');
  }

  /**
   * What SQLite asks the authorizer while it prepares `sql` as a host statement, in order: the tables
   * and columns it reads (SQLITE_READ; a view is expanded into the tables beneath it), the functions it
   * calls, and any other action. The statement is prepared apart from the cache and never run.
   */
  authorizations(sql: string): Authorization[] {
    const asked: Authorization[] = [];
    this.#asked = asked;
    this.#limits.lift();
    try {
      this.#c.sqlite3_finalize(this.#prepareOne(sql));
    } finally {
      this.#limits.restore();
      this.#asked = undefined;
    }
    return asked;
  }

  /**
   * The application's read: runs one statement that changes nothing (else SQLITE_READONLY, before it
   * runs) under SQLite's default limits instead of SQL_LIMITS (invariants 6 and 8), so it answers what
   * SQLite answers.
   */
  read(sql: string, params: readonly Value[]): RowSet {
    this.#limits.lift();
    try {
      return this.#query('reader', sql, params);
    } finally {
      this.#limits.restore();
    }
  }

  /** Runs one statement to completion and returns the rows it changed (triggers excluded). */
  execute(sql: string, params: readonly Value[]): bigint {
    return this.#execute('host', sql, params);
  }

  /** Runs one statement once per parameter row; returns the total of rows changed. */
  executeBatch(sql: string, rows: readonly (readonly Value[])[]): bigint {
    return this.#executeBatch('host', sql, rows);
  }

  query(sql: string, params: readonly Value[]): RowSet {
    return this.#query('host', sql, params);
  }

  #execute(principal: Principal, sql: string, params: readonly Value[]): bigint {
    return this.#withStatement(principal, sql, (stmt) => this.#run(stmt, params));
  }

  #executeBatch(principal: Principal, sql: string, rows: readonly (readonly Value[])[]): bigint {
    return this.#withStatement(principal, sql, (stmt) => {
      let changed = 0n;
      for (const params of rows) {
        changed += this.#run(stmt, params);
        this.#c.sqlite3_reset(stmt);
      }
      return changed;
    });
  }

  #query(principal: Principal, sql: string, params: readonly Value[]): RowSet {
    const c = this.#c;
    const values = this.#values;
    return this.#withStatement(principal, sql, (stmt) => {
      values.bind(stmt, params);
      const rows: Value[][] = [];
      let rc = c.sqlite3_step(stmt);
      // Only now is the shape final: a schema change re-prepares the statement inside the first step.
      const width = c.sqlite3_column_count(stmt);
      for (; rc === SQLITE_ROW; rc = c.sqlite3_step(stmt)) {
        const row: Value[] = [];
        for (let i = 0; i < width; i++) row.push(values.column(stmt, i));
        rows.push(row);
      }
      if (rc !== SQLITE_DONE) throw this.#error(rc);
      return { columns: this.#columns.of(stmt, width), rows };
    });
  }

  /**
   * Runs `body` over the cached statement for `sql`, as `principal`; a guest over budget fails
   * (invariant 5), and a guest statement SQLite aborted is noted (invariant 7).
   */
  #withStatement<T>(principal: Principal, sql: string, body: (stmt: WasmPointer) => T): T {
    // Only a guest statement that fails needs it (#noteAbort).
    const inTransaction = principal === 'guest' && this.inTransaction;
    let result: T;
    try {
      const stmt = this.#statement(principal, sql);
      this.#principal = principal;
      try {
        result = body(stmt);
      } finally {
        this.#release(principal, stmt);
      }
    } catch (error) {
      if (principal === 'guest') this.#noteAbort(error, inTransaction);
      throw error;
    }
    if (principal === 'guest' && this.#exhausted) throw this.#budgetError();
    return result;
  }

  #noteAbort(error: unknown, wasInTransaction: boolean): void {
    // Running out of steps or size has its own verdict (invariants 5 and 6).
    if (this.#abort !== undefined || this.#exhausted || this.#sizeExceeded) return;
    const message = error instanceof Error ? error.message : String(error);
    const primary = error instanceof SqlError ? error.code & 0xff : undefined;
    const ended = wasInTransaction && !this.inTransaction;
    if (ended || (primary !== undefined && this.#hostFailures.has(primary))) this.#abort = message;
  }

  /** Runs any number of statements without parameters (transaction control, schema scripts). */
  exec(sql: string): void {
    const rc = this.#db.execCode(sql);
    if (rc !== SQLITE_OK) throw this.#error(rc);
  }

  close(): void {
    this.#statements.clear();
    detachCallbacks(this.#pDb);
    this.#db.close();
    this.#values.dispose();
  }

  #run(stmt: WasmPointer, params: readonly Value[]): bigint {
    const c = this.#c;
    this.#values.bind(stmt, params);
    // The 32-bit total (no BigInt to allocate) tells whether the statement changed anything: it would
    // look unchanged only after exactly a multiple of 2^32 changes.
    const before = c.sqlite3_total_changes(this.#pDb);
    let rc: number;
    do rc = c.sqlite3_step(stmt);
    while (rc === SQLITE_ROW);
    if (rc !== SQLITE_DONE) throw this.#error(rc);
    // sqlite3_changes keeps the count of the last INSERT/UPDATE/DELETE, even across other statements:
    // trust it only if this statement changed something.
    return c.sqlite3_total_changes(this.#pDb) === before ? 0n : c.sqlite3_changes64(this.#pDb);
  }

  #statement(principal: Principal, sql: string): WasmPointer {
    const cached = this.#statements.get(principal, sql);
    if (cached !== undefined) return cached;
    if (principal === 'guest' && this.#exhausted) throw this.#budgetError();
    this.#principal = principal;
    this.#denial = undefined;
    let stmt: WasmPointer;
    try {
      stmt = this.#prepareOne(sql);
    } finally {
      this.#principal = 'host';
      this.#denial = undefined;
    }
    if (principal === 'reader' && this.#c.sqlite3_stmt_readonly(stmt) === 0) {
      this.#c.sqlite3_finalize(stmt);
      throw new SqlError(
        SQLITE_READONLY,
        'a query only reads: this statement would change the database (mutations change it, through the reducer)',
      );
    }
    this.#statements.add(principal, sql, stmt);
    return stmt;
  }

  /** SQLite's authorizer for this connection's statements (invariant 4). */
  #authorize(action: number, arg1: string | null, arg2: string | null, database: string | null): number {
    this.#asked?.push({ action, arg1: arg1 || null, arg2: arg2 || null, database: database || null });
    if (this.#principal === 'host') return SQLITE_OK;
    const denial =
      this.#principal === 'guest' ? guestDenial(action, arg1, arg2) : readerDenial(action, arg1, arg2);
    if (denial === undefined) return SQLITE_OK;
    this.#denial = denial;
    return SQLITE_DENY;
  }

  /** Called by SQLite every PROGRESS_INTERVAL steps of any statement; non-zero interrupts it (invariant 5). */
  #progress(): number {
    if (this.#principal !== 'guest') return 0;
    this.#progressCalls++;
    if (this.#stepsUsed + this.#progressCalls * PROGRESS_INTERVAL <= this.#stepBudget) return 0;
    this.#exhausted = true;
    return 1;
  }

  #budgetError(): SqlError {
    return new SqlError(SQLITE_INTERRUPT, 'sql budget exhausted');
  }

  #prepareOne(sql: string): WasmPointer {
    const sqlite3 = this.#sqlite3;
    const c = this.#c;
    const [pSql, nSql] = sqlite3.allocCString(sql);
    const end = pSql + nSql;
    // sqlite3_stmt** and the tail's const char**, side by side.
    const out = sqlite3.alloc(8);
    const ppStmt = out;
    const pzTail = out + 4;
    const peek = (pointer: WasmPointer): WasmPointer =>
      new DataView(sqlite3.heap8u().buffer).getUint32(pointer, true);
    let stmt: WasmPointer = 0;
    try {
      const rc = c.sqlite3_prepare_v3(this.#pDb, pSql, nSql, SQLITE_PREPARE_PERSISTENT, ppStmt, pzTail);
      if (rc !== SQLITE_OK) throw this.#error(rc);
      stmt = peek(ppStmt);
      if (!stmt) throw new SqlError(SQLITE_ERROR, 'execute runs one statement: the SQL holds none');
      // What follows may hold only whitespace, comments and semicolons (each prepares to no statement).
      for (let tail = peek(pzTail); tail < end; ) {
        const tailRc = c.sqlite3_prepare_v3(this.#pDb, tail, end - tail, 0, ppStmt, pzTail);
        const extra = peek(ppStmt);
        if (extra) c.sqlite3_finalize(extra);
        const next = peek(pzTail);
        if (tailRc !== SQLITE_OK || extra || next <= tail) {
          throw new SqlError(SQLITE_ERROR, 'execute runs one statement: the SQL holds more than one');
        }
        tail = next;
      }
      const prepared = stmt;
      stmt = 0;
      return prepared;
    } finally {
      if (stmt) c.sqlite3_finalize(stmt);
      sqlite3.dealloc(out);
      sqlite3.dealloc(pSql);
    }
  }

  /** Finalizes a cached statement; its address may be another statement's next. */
  #finalize(stmt: WasmPointer): void {
    this.#columns.forget(stmt);
    this.#c.sqlite3_finalize(stmt);
  }

  #release(principal: Principal, stmt: WasmPointer): void {
    this.#principal = 'host';
    // After a failed step, reset returns that error again: the error has already been reported.
    this.#c.sqlite3_reset(stmt);
    this.#c.sqlite3_clear_bindings(stmt);
    if (principal === 'guest') {
      this.#progressCalls = 0;
      this.#stepsUsed += this.#c.sqlite3_stmt_status(stmt, SQLITE_STMTSTATUS_VM_STEP, 1);
      if (this.#stepsUsed > this.#stepBudget) this.#exhausted = true;
    }
  }

  #error(rc: number): SqlError {
    if (this.#principal === 'guest' && this.#exhausted) return this.#budgetError();
    const primary = rc & 0xff;
    if (this.#principal === 'guest' && (primary === SQLITE_TOOBIG || primary === SQLITE_NOMEM)) {
      this.#sizeExceeded = true;
    }
    // A denied action fails with SQLITE_AUTH, a denied function with SQLITE_ERROR; both while preparing.
    if ((rc === SQLITE_AUTH || rc === SQLITE_ERROR) && this.#denial !== undefined) {
      return new SqlError(rc, `not authorized: ${this.#denial}`);
    }
    return new SqlError(rc, this.#db.errmsg());
  }
}
