// The constants of sqlite3.h that Tandem uses, by their C names. They are part of SQLite's stable ABI;
// sqlite-codes.test.ts checks each against the enum table the wasm build itself reports.

export const SQLITE_OK = 0;
export const SQLITE_ERROR = 1;
export const SQLITE_BUSY = 5;
export const SQLITE_NOMEM = 7;
export const SQLITE_READONLY = 8;
export const SQLITE_INTERRUPT = 9;
export const SQLITE_IOERR = 10;
export const SQLITE_CORRUPT = 11;
export const SQLITE_NOTFOUND = 12;
export const SQLITE_FULL = 13;
export const SQLITE_CANTOPEN = 14;
export const SQLITE_TOOBIG = 18;
export const SQLITE_CONSTRAINT = 19;
export const SQLITE_MISMATCH = 20;
export const SQLITE_AUTH = 23;
export const SQLITE_RANGE = 25;
export const SQLITE_NOTADB = 26;
export const SQLITE_ROW = 100;
export const SQLITE_DONE = 101;

export const SQLITE_IOERR_READ = 266;
export const SQLITE_IOERR_SHORT_READ = 522;
export const SQLITE_IOERR_WRITE = 778;
export const SQLITE_IOERR_TRUNCATE = 1546;
export const SQLITE_IOERR_FSTAT = 1802;
export const SQLITE_IOERR_DELETE = 2570;
export const SQLITE_IOERR_ACCESS = 3338;
export const SQLITE_CONSTRAINT_UNIQUE = 2067;

/** The authorizer's refusal. */
export const SQLITE_DENY = 1;

/** Column storage classes (sqlite3_column_type). */
export const SQLITE_INTEGER = 1;
export const SQLITE_FLOAT = 2;
export const SQLITE_TEXT = 3;
export const SQLITE_BLOB = 4;
export const SQLITE_NULL = 5;

export const SQLITE_PREPARE_PERSISTENT = 1;
export const SQLITE_STMTSTATUS_VM_STEP = 4;
export const SQLITE_LOCK_NONE = 0;
export const SQLITE_FCNTL_COMMIT_PHASETWO = 22;

export const SQLITE_OPEN_READWRITE = 2;
export const SQLITE_OPEN_CREATE = 4;
export const SQLITE_OPEN_DELETEONCLOSE = 8;
export const SQLITE_OPEN_MAIN_DB = 256;
export const SQLITE_OPEN_EXRESCODE = 33_554_432;

/** sqlite3_limit's ids, by the name after SQLITE_LIMIT_. */
export const SQLITE_LIMITS = {
  LENGTH: 0,
  SQL_LENGTH: 1,
  COLUMN: 2,
  EXPR_DEPTH: 3,
  COMPOUND_SELECT: 4,
  FUNCTION_ARG: 6,
  LIKE_PATTERN_LENGTH: 8,
  VARIABLE_NUMBER: 9,
  TRIGGER_DEPTH: 10,
  WORKER_THREADS: 11,
} as const;

/** sqlite3_bind_text/blob's destructor: SQLite copies the bytes before the call returns. */
export const SQLITE_TRANSIENT = -1;
