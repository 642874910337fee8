// Rows as the application reads them, from SQLite's values: objects keyed by column name (the
// convenience), or arrays beside the column names (exact: a JavaScript object keeps one value per name
// and puts integer-like names first, so `SELECT a, a`, `SELECT * FROM t, t AS u` and `SELECT b, 10, 2`
// lose or reorder columns as objects), with integers as the caller chose.
import { TandemError } from './errors.js';
import type { PlainValue, RowSet, Value } from './value.js';

/** A row as an object: one value per column name (the last column of a name wins). */
export type Row = Record<string, PlainValue>;

/** A result as arrays: `rows[i][j]` is column `columns[j]` of row `i`, every column kept, in order. */
export interface ArrayRows {
  readonly columns: string[];
  readonly rows: PlainValue[][];
}

/**
 * How INTEGER values come back. `'auto'` (the default): a number when it is a safe integer
 * (|n| ≤ 2^53 − 1), a bigint beyond, so a column may mix both. `'bigint'`: every INTEGER a bigint
 * (as better-sqlite3's `safeIntegers`, node:sqlite's `readBigInts`). `'string'`: every INTEGER its
 * decimal text (exact, and JSON can carry it). REAL values are always numbers.
 */
export type IntegerMode = 'auto' | 'bigint' | 'string';

export interface QueryOptions {
  /** `'object'` (the default): `Row[]`; `'array'`: `{ columns, rows }` with rows as arrays. */
  readonly rowMode?: 'object' | 'array';
  readonly integers?: IntegerMode;
}

/** A query's options with `rowMode: 'array'`: the result is `ArrayRows`. */
export type ArrayQueryOptions = QueryOptions & { readonly rowMode: 'array' };

/** `subscribe`'s options: the rows' shape (QueryOptions) and where a failing query is told. */
export interface SubscribeOptions extends QueryOptions {
  readonly onError?: (error: unknown) => void;
}

/** The options of one query, checked and with their defaults. */
export interface RowShape {
  readonly rowMode: 'object' | 'array';
  readonly integers: IntegerMode;
}

export const DEFAULT_SHAPE: RowShape = { rowMode: 'object', integers: 'auto' };

const INTEGER_MODES: readonly IntegerMode[] = ['auto', 'bigint', 'string'];

/** `options` checked (`invalid-argument` when they cannot be used), with the defaults filled in. */
export function rowShape(options: QueryOptions | undefined): RowShape {
  if (options === undefined) return DEFAULT_SHAPE;
  if (typeof options !== 'object' || options === null) {
    throw new TandemError('invalid-argument', 'query options must be an object');
  }
  const { rowMode = 'object', integers = 'auto' } = options;
  if (rowMode !== 'object' && rowMode !== 'array') {
    throw new TandemError('invalid-argument', `rowMode must be 'object' or 'array', not ${String(rowMode)}`);
  }
  if (!INTEGER_MODES.includes(integers)) {
    throw new TandemError(
      'invalid-argument',
      `integers must be one of ${INTEGER_MODES.map((m) => `'${m}'`).join(', ')}, not ${String(integers)}`,
    );
  }
  if (rowMode === 'object' && integers === 'auto') return DEFAULT_SHAPE;
  return { rowMode, integers };
}

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** One value as the application reads it; with `copy`, a blob is a copy (no one else holds its bytes). */
export function plainValue(value: Value, integers: IntegerMode, copy = false): PlainValue {
  switch (value.tag) {
    case 'null':
      return null;
    case 'integer':
      if (integers === 'bigint') return value.val;
      if (integers === 'string') return value.val.toString();
      return value.val >= MIN_SAFE && value.val <= MAX_SAFE ? Number(value.val) : value.val;
    case 'blob':
      return copy ? value.val.slice() : value.val;
    default:
      return value.val;
  }
}

/** A result in the shape the caller asked for; with `copy`, its blobs are copies (the caller keeps `set`). */
export function shapeRows({ columns, rows }: RowSet, shape: RowShape, copy = false): Row[] | ArrayRows {
  const { integers } = shape;
  if (shape.rowMode === 'array') {
    return {
      columns: [...columns],
      rows: rows.map((row) => Array.from(columns, (_, i) => plainValue(row[i] ?? NULL, integers, copy))),
    };
  }
  return rows.map((row) => {
    const object: Row = {};
    for (let i = 0; i < columns.length; i++) object[columns[i]!] = plainValue(row[i] ?? NULL, integers, copy);
    return object;
  });
}

const NULL: Value = { tag: 'null' };
