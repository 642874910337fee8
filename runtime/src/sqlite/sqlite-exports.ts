import type { WasmPointer } from '@sqlite.org/sqlite-wasm';

/**
 * The C functions called per statement or per value, taken straight from the wasm exports: the library's
 * JS wrappers cost time on this path, and some misreport (its sqlite3_bind_null returns undefined).
 */
export interface SqliteExports {
  sqlite3_step(stmt: WasmPointer): number;
  sqlite3_reset(stmt: WasmPointer): number;
  sqlite3_clear_bindings(stmt: WasmPointer): number;
  sqlite3_bind_parameter_count(stmt: WasmPointer): number;
  sqlite3_bind_null(stmt: WasmPointer, index: number): number;
  sqlite3_bind_int64(stmt: WasmPointer, index: number, value: bigint): number;
  sqlite3_bind_double(stmt: WasmPointer, index: number, value: number): number;
  sqlite3_bind_text(
    stmt: WasmPointer,
    index: number,
    text: WasmPointer,
    length: number,
    free: WasmPointer,
  ): number;
  sqlite3_bind_blob(
    stmt: WasmPointer,
    index: number,
    blob: WasmPointer,
    length: number,
    free: WasmPointer,
  ): number;
  sqlite3_bind_zeroblob(stmt: WasmPointer, index: number, length: number): number;
  sqlite3_column_count(stmt: WasmPointer): number;
  sqlite3_column_name(stmt: WasmPointer, column: number): WasmPointer;
  sqlite3_column_type(stmt: WasmPointer, column: number): number;
  sqlite3_column_int64(stmt: WasmPointer, column: number): bigint;
  sqlite3_column_double(stmt: WasmPointer, column: number): number;
  sqlite3_column_text(stmt: WasmPointer, column: number): WasmPointer;
  sqlite3_column_blob(stmt: WasmPointer, column: number): WasmPointer;
  sqlite3_column_bytes(stmt: WasmPointer, column: number): number;
  sqlite3_changes64(db: WasmPointer): bigint;
  sqlite3_total_changes(db: WasmPointer): number;
  sqlite3_stmt_status(stmt: WasmPointer, op: number, reset: number): number;
  sqlite3_get_autocommit(db: WasmPointer): number;
  sqlite3_limit(db: WasmPointer, id: number, value: number): number;
  sqlite3_stmt_readonly(stmt: WasmPointer): number;
  sqlite3_set_authorizer(db: WasmPointer, callback: WasmPointer, context: WasmPointer): number;
  sqlite3_progress_handler(db: WasmPointer, steps: number, callback: WasmPointer, context: WasmPointer): void;
}
