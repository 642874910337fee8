// The one error every statement of a connection fails with: SQLite's result code (extended where SQLite
// gives one) and its message (connection.ts invariant 3).
export class SqlError extends Error {
  readonly code: number;

  constructor(code: number, message: string) {
    super(message);
    this.name = 'SqlError';
    this.code = code;
  }
}
