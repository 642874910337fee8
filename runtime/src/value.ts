// A SQLite value as it crosses the reducer ABI (the WIT `value` variant). Integers stay bigint so
// that 64-bit values survive; reals stay doubles, never coerced to integers (see TOOLCHAIN.md:
// sqlite-wasm binds integral numbers as int64 unless told otherwise).

export type Value =
  | { readonly tag: 'null' }
  | { readonly tag: 'integer'; readonly val: bigint }
  | { readonly tag: 'real'; readonly val: number }
  | { readonly tag: 'text'; readonly val: string }
  | { readonly tag: 'blob'; readonly val: Uint8Array };

export interface RowSet {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly Value[])[];
}

/** What an application passes as a query parameter or gets back in a row object. */
export type PlainValue = null | number | bigint | string | Uint8Array;

export const NULL: Value = Object.freeze({ tag: 'null' });

/**
 * Converts an application value into an ABI value. A JS number is a real unless it is an integer
 * within the safe range, because the app cannot tell us otherwise; bigint is always an integer.
 */
export function toValue(v: PlainValue | boolean | undefined): Value {
  if (v === null || v === undefined) return NULL;
  switch (typeof v) {
    case 'bigint':
      return { tag: 'integer', val: v };
    case 'number':
      return Number.isSafeInteger(v) ? { tag: 'integer', val: BigInt(v) } : { tag: 'real', val: v };
    case 'string':
      return { tag: 'text', val: v };
    case 'boolean':
      return { tag: 'integer', val: v ? 1n : 0n };
    default:
      return { tag: 'blob', val: v };
  }
}

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Converts an ABI value to what an application reads: integers within 2^53 become numbers. */
export function toPlain(v: Value): PlainValue {
  switch (v.tag) {
    case 'null':
      return null;
    case 'integer':
      return v.val >= MIN_SAFE && v.val <= MAX_SAFE ? Number(v.val) : v.val;
    default:
      return v.val;
  }
}
