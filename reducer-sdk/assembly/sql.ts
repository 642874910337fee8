import { callExecute, callExecuteBatch, callQuery, lastChanges } from './abi';
import { Value } from './value';

/** What `sql.execute` and `sql.executeBatch` return: rows changed, or SQLite's error. */
export class ExecResult {
  constructor(
    /** Rows inserted, updated or deleted (0 on error). */
    public readonly changes: u64,
    /** SQLite's message when the statement failed, else null. */
    public readonly error: string | null,
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
    return new ExecResult(lastChanges(), error);
  }

  /** Runs one statement once per parameter row, crossing into the host once; stops at the first error. */
  export function executeBatch(statement: string, rows: Value[][]): ExecResult {
    const error = callExecuteBatch(statement, rows);
    return new ExecResult(lastChanges(), error);
  }

  /** Runs one statement and returns every row it produced. */
  export function query(statement: string, params: Value[] = []): QueryResult {
    const r = callQuery(statement, params);
    return new QueryResult(r.columns, r.rows, r.error);
  }
}
