// Where a browser document's reducer comes from: a URL the coordinator serves, its bytes, or a loaded module.
import { loadReducerFrom } from '@tandem/migrations';
import { type ReducerLimits, type ReducerModule, TandemError } from '@tandem/runtime';

/** A built reducer: its URL, its bytes, or a loaded module. */
export type ReducerSource = string | URL | Uint8Array | ReducerModule;

export async function resolveReducer(
  source: ReducerSource,
  limits: Partial<ReducerLimits>,
): Promise<ReducerModule> {
  if (source instanceof Uint8Array) return loadReducerFrom(source, 'reducer', limits);
  if (typeof source !== 'string' && !(source instanceof URL)) return source;
  const unreadable = (why: string) =>
    new TandemError('invalid-reducer', `cannot fetch the reducer at ${String(source)}: ${why}`, {
      reason: 'unreadable',
    });
  const response = await fetch(source).catch((error: unknown) => {
    throw unreadable(String(error));
  });
  if (!response.ok) throw unreadable(`HTTP ${response.status}`);
  return loadReducerFrom(new Uint8Array(await response.arrayBuffer()), String(source), limits);
}
