import { callExecute, callExecuteBatch, callQuery, lastChanges, lastCode } from './abi';
import { splitScript } from './script';
import { Value } from './value';

/** What `sql.execute`, `sql.executeBatch` and `sql.executeScript` return: rows changed, or SQLite's error. */
export class ExecResult {
  constructor(
    /** Rows inserted, updated or deleted (0 on error). */
    public readonly changes: u64,
    /** SQLite's message when the statement failed, else null. */
    public readonly error: string | null,
    /**
     * SQLite's extended result code when the statement failed (e.g. 1555, SQLITE_CONSTRAINT_PRIMARYKEY;
     * `code & 0xff` is the primary code, 19 SQLITE_CONSTRAINT), else 0.
     */
    public readonly code: i32 = 0,
  ) {}

  get ok(): bool {
    return this.error == null;
  }
}

/** What `sql.query` returns: column names and rows, or SQLite's error. */
export class QueryResult {
  constructor(
    public readonly columns: string[],
    public readonly rows: Value[][],
    /** SQLite's message when the statement failed, else null (then `rows` is empty). */
    public readonly error: string | null,
    /** SQLite's extended result code when the statement failed, else 0 (see `ExecResult.code`). */
    public readonly code: i32 = 0,
  ) {}

  get ok(): bool {
    return this.error == null;
  }

  /** The index of the column named `name`, or -1. */
  column(name: string): i32 {
    return this.columns.indexOf(name);
  }
}

/** SQL against the document's database. A SQL error is a value (`result.error`), never a trap. */
export namespace sql {
  /** Runs one statement with positional parameters (`?`). */
  export function execute(statement: string, params: Value[] = []): ExecResult {
    const error = callExecute(statement, params);
    return new ExecResult(lastChanges(), error, lastCode());
  }

  /** Runs one statement once per parameter row, crossing into the host once; stops at the first error. */
  export function executeBatch(statement: string, rows: Value[][]): ExecResult {
    const error = callExecuteBatch(statement, rows);
    return new ExecResult(lastChanges(), error, lastCode());
  }

  /**
   * Runs every statement of `script` (statements separated by `;`, as the sqlite3 shell splits them:
   * quotes, comments and trigger bodies are understood), without parameters, in order. `changes` is
   * the total. Stops at the first error, whose message starts with `statement N: ` (from 1); the
   * statements before it stay written unless the mutation or migration is rejected.
   */
  export function executeScript(script: string): ExecResult {
    const statements = splitScript(script);
    let total: u64 = 0;
    for (let i = 0; i < statements.length; i++) {
      const error = callExecute(unchecked(statements[i]), []);
      if (error != null) return new ExecResult(total, `statement ${i + 1}: ${error}`, lastCode());
      total += lastChanges();
    }
    return new ExecResult(total, null);
  }

  /** Runs one statement and returns every row it produced. */
  export function query(statement: string, params: Value[] = []): QueryResult {
    const r = callQuery(statement, params);
    return new QueryResult(r.columns, r.rows, r.error, lastCode());
  }
}
