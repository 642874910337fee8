// `@tandem/runtime/prepare`: the Node side's reducer loading, which meters components with binaryen
// (reducer/prepare.ts). Kept out of the main entry so that what a browser imports never reaches the
// instrumenter; browsers load prepared reducers with `loadPreparedReducer`.

import type { ReducerLimits, ReducerModule } from './reducer/host.js';
import { asInvalidReducer } from './reducer/load-reducer.js';
import { loadReducer } from './reducer/prepare.js';

export { loadReducer, prepareReducer } from './reducer/prepare.js';

/** Loads a reducer component or a prepared reducer under `limits` (DEFAULT_LIMITS for those left out). */
export function loadReducerFrom(
  bytes: Uint8Array,
  where: string,
  limits: Partial<ReducerLimits> = {},
): Promise<ReducerModule> {
  return asInvalidReducer(where, () => loadReducer(bytes, { limits }));
}
