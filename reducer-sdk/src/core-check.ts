// Checks a compiled core module against the world before it becomes a component: only the world's
// imports (with a specific message for the usual culprits), and its schema version, read by running
// `schema-version` with imports that refuse to run.

import { SdkError } from './errors.js';
import { WORLD, WORLD_IMPORTS } from './world.js';

const ADVICE: ReadonlyMap<string, string> = new Map([
  [
    'env.Date.now',
    "uses Date.now, which differs on every replica: use now() from '@tandem/reducer-sdk/assembly' (the mutation's timestamp)",
  ],
  [
    'env.performance.now',
    "uses performance.now, which differs on every replica: use now() from '@tandem/reducer-sdk/assembly' (the mutation's timestamp)",
  ],
  ['env.trace', "uses trace(): use log.debug() from '@tandem/reducer-sdk/assembly'"],
  ['env.seed', "uses Math.random without the SDK's seed: build it with `tandem build`"],
  ['env.abort', 'imports abort: build it with `tandem build` (which turns abort into a trap)'],
]);

/** What to tell the author about a core import outside the world, e.g. `env.Date.now`. */
export function advice(name: string): string {
  const known = ADVICE.get(name);
  if (known !== undefined) return known;
  if (name.startsWith('env.console.'))
    return "uses console: use log.info() from '@tandem/reducer-sdk/assembly'";
  return `imports ${name}, which the world ${WORLD} does not provide`;
}

/** Throws `forbidden-import` naming every import outside the world. */
export function checkImports(module: WebAssembly.Module): void {
  const problems = WebAssembly.Module.imports(module)
    .map((i) => `${i.module}.${i.name}`)
    .filter((name) => !WORLD_IMPORTS.has(name))
    .map(advice);
  if (problems.length > 0) {
    throw new SdkError('forbidden-import', `the reducer ${problems.join('; ')}`);
  }
}

/** Runs `schema-version` in an instance whose imports all throw. */
export async function readSchemaVersion(module: WebAssembly.Module): Promise<number> {
  const imports: WebAssembly.Imports = {};
  for (const i of WebAssembly.Module.imports(module)) {
    const table = imports[i.module] ?? {};
    imports[i.module] = table;
    table[i.name] = () => {
      throw new Error(`schema-version called ${i.module}.${i.name}`);
    };
  }
  const instance = await WebAssembly.instantiate(module, imports);
  const schemaVersion = instance.exports['schema-version'];
  if (typeof schemaVersion !== 'function') {
    throw new SdkError('world-mismatch', 'the module does not export schema-version');
  }
  return Number(schemaVersion()) >>> 0;
}
