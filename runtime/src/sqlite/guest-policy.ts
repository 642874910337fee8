// What a reducer's SQL may do, decided by SQLite's authorizer while a reducer's statement is prepared.
// The host's own statements (transactions, savepoints, the `_tandem_*` tables) are never checked.
//
// Invariants:
// 1. A reducer cannot reach outside its database (ATTACH/DETACH), control transactions (each mutation
//    runs in a savepoint the host owns), create temporary objects (they would outlive a mutation
//    without being replicated), or run a PRAGMA other than the read-only ones listed here.
// 2. A reducer cannot write, alter or drop Tandem's internal tables (`_tandem_*`), nor reach the raw
//    pages (`sqlite_dbpage`), nor hang triggers or indexes on internal tables. (SQLite itself keeps
//    the schema table read-only while `writable_schema`, a PRAGMA, is off.)
// 3. A reducer cannot call the functions that read the connection's history (`changes()`,
//    `total_changes()`, `last_insert_rowid()`): they count the host's statements and rolled-back runs,
//    so their values depend on how a host batched the mutations.
// `migrate` runs under the same policy: it may create, alter and drop its own tables.
// The application's reads (`Connection.read`) run under `readerDenial`: they may read anything, but
// neither control transactions, ATTACH, nor set a PRAGMA (what changes content, SQLite itself reports:
// sqlite3_stmt_readonly).

/** SQLite's authorizer action codes (sqlite3.h). */
const A = {
  CREATE_INDEX: 1,
  CREATE_TABLE: 2,
  CREATE_TEMP_INDEX: 3,
  CREATE_TEMP_TABLE: 4,
  CREATE_TEMP_TRIGGER: 5,
  CREATE_TEMP_VIEW: 6,
  CREATE_TRIGGER: 7,
  DELETE: 9,
  DROP_INDEX: 10,
  DROP_TABLE: 11,
  DROP_TEMP_INDEX: 12,
  DROP_TEMP_TABLE: 13,
  DROP_TEMP_TRIGGER: 14,
  DROP_TEMP_VIEW: 15,
  DROP_TRIGGER: 16,
  INSERT: 18,
  PRAGMA: 19,
  TRANSACTION: 22,
  UPDATE: 23,
  ATTACH: 24,
  DETACH: 25,
  ALTER_TABLE: 26,
  CREATE_VTABLE: 29,
  DROP_VTABLE: 30,
  FUNCTION: 31,
  SAVEPOINT: 32,
} as const;

/** Functions whose value depends on the connection's past (invariant 3); lower case, as SQLite passes them. */
const HISTORY_FUNCTIONS = new Set(['changes', 'total_changes', 'last_insert_rowid']);

type Arg = string | 0 | null | undefined;

/** PRAGMAs that only read the schema (or the user version, when not assigned). */
const READ_ONLY_PRAGMAS = new Set([
  'table_info',
  'table_xinfo',
  'table_list',
  'index_list',
  'index_info',
  'index_xinfo',
  'foreign_key_list',
  'foreign_key_check',
  'collation_list',
]);

/** PRAGMAs that take an argument and still only read. */
const READING_PRAGMAS_WITH_ARGUMENT = new Set([...READ_ONLY_PRAGMAS, 'integrity_check', 'quick_check']);

/** Why an application's read may not do `action` (SQLite's arguments), or undefined when it may. */
export function readerDenial(action: number, arg1: Arg, arg2: Arg): string | undefined {
  switch (action) {
    case A.ATTACH:
    case A.DETACH:
      return 'a query cannot ATTACH or DETACH databases';
    case A.TRANSACTION:
    case A.SAVEPOINT:
      return 'a query cannot control transactions (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE)';
    case A.PRAGMA: {
      const name = typeof arg1 === 'string' ? arg1 : '';
      if (typeof arg2 !== 'string' || READING_PRAGMAS_WITH_ARGUMENT.has(name.toLowerCase())) return undefined;
      return `a query cannot set PRAGMA ${name}: it only reads`;
    }
    default:
      return undefined;
  }
}

/** Tables a reducer may never write (invariant 2); names compare case-insensitively, as SQLite's do. */
export function isInternalTable(name: string): boolean {
  const n = name.toLowerCase();
  return n.startsWith('_tandem') || n === 'sqlite_dbpage';
}

/** Why a reducer may not do `action` (SQLite's arguments), or undefined when it may. */
export function guestDenial(action: number, arg1: Arg, arg2: Arg): string | undefined {
  const a1 = typeof arg1 === 'string' ? arg1 : '';
  const a2 = typeof arg2 === 'string' ? arg2 : '';
  switch (action) {
    case A.ATTACH:
    case A.DETACH:
      return 'a reducer cannot ATTACH or DETACH databases: it works on its document only';
    case A.TRANSACTION:
    case A.SAVEPOINT:
      return 'a reducer cannot control transactions (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE): the host runs each mutation in its own savepoint';
    case A.CREATE_TEMP_INDEX:
    case A.CREATE_TEMP_TABLE:
    case A.CREATE_TEMP_TRIGGER:
    case A.CREATE_TEMP_VIEW:
    case A.DROP_TEMP_INDEX:
    case A.DROP_TEMP_TABLE:
    case A.DROP_TEMP_TRIGGER:
    case A.DROP_TEMP_VIEW:
      return 'a reducer cannot use temporary objects: they would outlive a mutation without being replicated';
    case A.PRAGMA: {
      const name = a1.toLowerCase();
      if (READ_ONLY_PRAGMAS.has(name) || (name === 'user_version' && typeof arg2 !== 'string'))
        return undefined;
      return `a reducer cannot run PRAGMA ${a1}: PRAGMAs can change storage or determinism (only schema reads are allowed)`;
    }
    case A.INSERT:
    case A.UPDATE:
    case A.DELETE:
    case A.CREATE_TABLE:
    case A.DROP_TABLE:
      return isInternalTable(a1) ? `a reducer cannot write ${a1}: it belongs to Tandem` : undefined;
    case A.ALTER_TABLE:
    case A.CREATE_INDEX:
    case A.DROP_INDEX:
    case A.CREATE_TRIGGER:
    case A.DROP_TRIGGER:
      return isInternalTable(a2) ? `a reducer cannot change ${a2}: it belongs to Tandem` : undefined;
    case A.FUNCTION:
      return HISTORY_FUNCTIONS.has(a2.toLowerCase())
        ? `a reducer cannot call ${a2}(): it reads the connection's history, which differs between hosts (use RETURNING)`
        : undefined;
    case A.CREATE_VTABLE:
    case A.DROP_VTABLE:
      return a2.toLowerCase() === 'sqlite_dbpage' || isInternalTable(a1)
        ? 'a reducer cannot reach the database pages or Tandem tables through a virtual table'
        : undefined;
    default:
      return undefined;
  }
}
