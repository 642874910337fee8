// Query parameters as a string that is equal exactly when they are (the React hooks compare parameters to
// keep a subscription), and rows compared cell by cell without making any string (the tab and the hooks
// compare rows to call a listener only on change).
import type { ArrayRows, Row } from '@tandem/runtime';

/** Cells are null, numbers, strings, booleans, bigints or blobs: the last two become objects no other cell can be. */
export function valuesKey(values: readonly unknown[] | readonly Row[]): string {
  return JSON.stringify(values, (_key, value: unknown) => {
    if (value instanceof Uint8Array) return { blob: Array.from(value) };
    if (typeof value === 'bigint') return { bigint: value.toString() };
    return value;
  });
}

/**
 * The same rows: the same columns in the same order, cell by cell the same value (blobs byte by byte).
 * Rows of one query result share their columns, so the first row of each says them.
 */
export function sameRows(a: readonly Row[], b: readonly Row[]): boolean {
  if (a.length !== b.length) return false;
  if (a.length === 0) return true;
  const columns = Object.keys(a[0]!);
  const others = Object.keys(b[0]!);
  if (columns.length !== others.length) return false;
  for (let i = 0; i < columns.length; i++) if (columns[i] !== others[i]) return false;
  for (let r = 0; r < a.length; r++) {
    const x = a[r]!;
    const y = b[r]!;
    for (const column of columns) if (!sameCell(x[column], y[column])) return false;
  }
  return true;
}

/** The same result: rows as objects (sameRows), or the same columns and the same array rows. */
export function sameResult(a: Row[] | ArrayRows, b: Row[] | ArrayRows): boolean {
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && sameRows(a, b);
  if (a.columns.length !== b.columns.length || a.rows.length !== b.rows.length) return false;
  for (let i = 0; i < a.columns.length; i++) if (a.columns[i] !== b.columns[i]) return false;
  for (let r = 0; r < a.rows.length; r++) {
    const x = a.rows[r]!;
    const y = b.rows[r]!;
    if (x.length !== y.length) return false;
    for (let c = 0; c < x.length; c++) if (!sameCell(x[c], y[c])) return false;
  }
  return true;
}

function sameCell(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  return Object.is(a, b);
}
