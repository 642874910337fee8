// What a Tandem reducer is, in core-module terms: the world's name, and the core imports and exports
// a module built for it may have. `reducer.wit` is the source of truth; these lists mirror it.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const WORLD = 'tandem:reducer/reducer@0.2.0';

/** The root of the reducer-sdk package (this file sits one level below it, in `src/` or `dist/`). */
export const SDK_ROOT = fileURLToPath(new URL('../', import.meta.url));

export function readWit(): string {
  return readFileSync(new URL('../wit/reducer.wit', import.meta.url), 'utf8');
}

/** Core imports the world provides, as `module.name`. A reducer may use any subset. */
export const WORLD_IMPORTS: ReadonlySet<string> = new Set([
  'tandem:reducer/sql@0.2.0.execute',
  'tandem:reducer/sql@0.2.0.execute-batch',
  'tandem:reducer/sql@0.2.0.query',
  'tandem:reducer/env@0.2.0.log',
  'tandem:reducer/env@0.2.0.enter',
  'tandem:reducer/env@0.2.0.now',
  'tandem:reducer/env@0.2.0.random',
]);

/** Core exports every reducer has. */
export const WORLD_EXPORTS: readonly string[] = [
  'schema-version',
  'migrate',
  'cabi_post_migrate',
  'reduce',
  'cabi_post_reduce',
  'memory',
  'cabi_realloc',
];
