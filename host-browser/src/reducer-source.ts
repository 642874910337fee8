// Where a browser document's reducer comes from: the URL of a prepared reducer (the coordinator serves
// its own at `/reducers/<sha256>.wasm`, named by `GET /reducers/current`), its bytes, or a loaded module.
// A browser never meters: it runs the bytes the coordinator prepared, through a loader that imports no
// instrumenter (so no binaryen in the bundle), and a component or a reducer prepared by another
// version of Tandem is refused with `invalid-reducer` (`not-prepared`, `meter-mismatch`).
import {
  loadPreparedReducerFrom,
  type ReducerLimits,
  type ReducerModule,
  TandemError,
} from '@tandem/runtime/local';

/** A prepared reducer: its URL, its bytes, or a loaded module. */
export type ReducerSource = string | URL | Uint8Array | ReducerModule;

export async function resolveReducer(
  source: ReducerSource,
  limits: Partial<ReducerLimits>,
): Promise<ReducerModule> {
  if (source instanceof Uint8Array) return loadPreparedReducerFrom(source, 'reducer', limits);
  if (typeof source !== 'string' && !(source instanceof URL)) return source;
  return reducerFromResponse(String(source), fetch(source), limits);
}

/** The prepared reducer `response` (a fetch of `url`, started by the caller) brings. */
export async function reducerFromResponse(
  url: string,
  response: Promise<Response>,
  limits: Partial<ReducerLimits> = {},
): Promise<ReducerModule> {
  // `unreachable` (the network, or the server for now: a retry may succeed) or `unreadable` (no such reducer).
  const unfetched = (why: string, reason: 'unreachable' | 'unreadable') =>
    new TandemError('invalid-reducer', `cannot fetch the reducer at ${url}: ${why}`, { reason });
  const answer = await response.catch((error: unknown) => {
    throw unfetched(String(error), 'unreachable');
  });
  if (!answer.ok) {
    const transient = answer.status >= 500 || answer.status === 408 || answer.status === 429;
    throw unfetched(`HTTP ${answer.status}`, transient ? 'unreachable' : 'unreadable');
  }
  return loadPreparedReducerFrom(new Uint8Array(await answer.arrayBuffer()), url, limits);
}
