// The authorize hook of `tandem-coordinator --auth ./auth.mjs`: the module's default export, or its
// export named `authorize`, becomes CoordinatorOptions.authorize. A module that does not load, or that
// exports no such function, stops the coordinator before it listens: a deployment that asked for auth
// never runs without it.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CoordinatorOptions } from './server.js';

export type Authorize = NonNullable<CoordinatorOptions['authorize']>;

/** The hook exported by the module at `path` (relative to the working folder); grants only on `true`. */
export async function loadAuthorize(path: string): Promise<Authorize> {
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new Error(`--auth ${path}: the module failed to load: ${why}`);
  }
  const hook = typeof module.default === 'function' ? module.default : module.authorize;
  if (typeof hook !== 'function') {
    throw new Error(
      `--auth ${path}: the module exports no authorize function (a default export, or one named authorize)`,
    );
  }
  // Anything but `true` (a truthy string, a forgotten return) refuses: auth fails closed.
  return async (docId, token, timelineId) => (await hook(docId, token, timelineId)) === true;
}
