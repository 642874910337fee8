// Browsers run prepared reducers only (no instrumenter in the bundle): what a coordinator serves at
// `/reducers/<sha256>.wasm`. For a fixture page without a coordinator, the component prepared here the
// same way, as a data: URL (not a file under the repository: the dev servers of the browser tests
// running beside would reload their pages when one changes).
import { readFile } from 'node:fs/promises';
import { prepareReducer } from '@tandem/runtime/prepare';

/** The prepared reducer of a component (a path or its bytes), as a data: URL. */
export async function preparedReducerUrl(component: string | Uint8Array): Promise<string> {
  const bytes = typeof component === 'string' ? new Uint8Array(await readFile(component)) : component;
  const prepared = await prepareReducer(bytes);
  return `data:application/wasm;base64,${Buffer.from(prepared).toString('base64')}`;
}
