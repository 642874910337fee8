// A host's reducer, loaded from bytes it read somewhere, with a refusal turned into an
// `invalid-reducer` TandemError that says where they came from. This entry loads prepared reducers only
// (no instrumenter: what a browser runs); `@tandem/runtime/prepare` adds components, for Node hosts.
import { TandemError } from '../errors.js';
import { ReducerLoadError } from './errors.js';
import { loadPreparedReducer, type ReducerModule } from './host.js';
import type { ReducerLimits } from './limits.js';

/** Loads a prepared reducer under `limits` (DEFAULT_LIMITS for those left out). */
export function loadPreparedReducerFrom(
  bytes: Uint8Array,
  where: string,
  limits: Partial<ReducerLimits> = {},
): Promise<ReducerModule> {
  return asInvalidReducer(where, () => loadPreparedReducer(bytes, { limits }));
}

/** Runs `load`, turning a ReducerLoadError into `invalid-reducer` (`reason`: the loader's kind). */
export async function asInvalidReducer<T>(where: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (error instanceof ReducerLoadError) {
      throw new TandemError('invalid-reducer', `${where}: ${error.message}`, { reason: error.kind });
    }
    throw error;
  }
}
