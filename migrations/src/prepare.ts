// `@tandem/migrations/prepare`: a Node host's reducer loading, which takes a component (metered here,
// with binaryen) as well as a prepared reducer. Apart from the main entry so browsers never import it.
import type { ReducerLimits, ReducerModule } from '@tandem/runtime';
import { loadReducer } from '@tandem/runtime/prepare';
import { asInvalidReducer } from './load-reducer.js';

/** Loads a reducer component or a prepared reducer under `limits` (DEFAULT_LIMITS for those left out). */
export function loadReducerFrom(
  bytes: Uint8Array,
  where: string,
  limits: Partial<ReducerLimits> = {},
): Promise<ReducerModule> {
  return asInvalidReducer(where, () => loadReducer(bytes, { limits }));
}
