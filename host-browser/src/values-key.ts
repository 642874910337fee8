// Query rows and parameters as a string that is equal exactly when they are: the tab compares rows to call
// a listener only on change, and the React hooks compare parameters to keep a subscription.
import type { Row } from '@tandem/runtime';

/** Cells are null, numbers, strings, booleans, bigints or blobs: the last two become objects no other cell can be. */
export function valuesKey(values: readonly unknown[] | readonly Row[]): string {
  return JSON.stringify(values, (_key, value: unknown) => {
    if (value instanceof Uint8Array) return { blob: Array.from(value) };
    if (typeof value === 'bigint') return { bigint: value.toString() };
    return value;
  });
}
