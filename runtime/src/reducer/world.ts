// The world `tandem:reducer/reducer@0.2.0` (reducer-sdk/wit/reducer.wit) as the canonical ABI
// flattens it into a core module: which core imports a reducer may have and which core exports it
// must have, each with its one core type. Two spellings of the names are accepted: the legacy
// names wit-component has always read, and the newer `cm32p2` mangling (BuildTargets.md), where a
// 0.x package version is shortened to major.minor.

import type { FuncType } from './core-module.js';

export const WORLD_PACKAGE = 'tandem:reducer@0.2.0';

export type WorldImport = 'execute' | 'execute-batch' | 'query' | 'log' | 'enter' | 'now' | 'random';

export type WorldExport =
  | 'schema-version'
  | 'migrate'
  | 'migrate-post'
  | 'reduce'
  | 'reduce-post'
  | 'realloc'
  | 'initialize';

const i32 = 'i32';
const i64 = 'i64';

/** sql's functions take (sql ptr, sql len, list ptr, list len, return-area ptr): their result is 3 flat values. */
const SQL_CALL: FuncType = { params: [i32, i32, i32, i32, i32], results: [] };

interface ImportSpec {
  readonly interface: 'sql' | 'env';
  readonly type: FuncType;
}

export const WORLD_IMPORTS: Readonly<Record<WorldImport, ImportSpec>> = {
  execute: { interface: 'sql', type: SQL_CALL },
  'execute-batch': { interface: 'sql', type: SQL_CALL },
  query: { interface: 'sql', type: SQL_CALL },
  log: { interface: 'env', type: { params: [i32, i32, i32], results: [] } },
  enter: { interface: 'env', type: { params: [i32], results: [] } },
  now: { interface: 'env', type: { params: [], results: [i64] } },
  random: { interface: 'env', type: { params: [], results: [i64] } },
};

/** The import module names of an interface: legacy, then cm32p2. */
const IMPORT_MODULES: Readonly<Record<ImportSpec['interface'], readonly string[]>> = {
  sql: ['tandem:reducer/sql@0.2.0', 'cm32p2|tandem:reducer/sql@0.2'],
  env: ['tandem:reducer/env@0.2.0', 'cm32p2|tandem:reducer/env@0.2'],
};

/** The world function a core import stands for, if it stands for one. */
export function worldImportOf(module: string, name: string): WorldImport | undefined {
  if (!Object.hasOwn(WORLD_IMPORTS, name)) return undefined;
  const func = name as WorldImport;
  return IMPORT_MODULES[WORLD_IMPORTS[func].interface].includes(module) ? func : undefined;
}

/** `tandem:reducer/sql@0.2.0#execute`: how reports name a world import. */
export function qualifiedImport(func: WorldImport): string {
  return `tandem:reducer/${WORLD_IMPORTS[func].interface}@0.2.0#${func}`;
}

interface ExportSpec {
  /** Legacy name, then cm32p2 name. */
  readonly names: readonly [string, string];
  readonly type: FuncType;
  readonly required: boolean;
}

export const WORLD_EXPORTS: Readonly<Record<WorldExport, ExportSpec>> = {
  'schema-version': {
    names: ['schema-version', 'cm32p2||schema-version'],
    type: { params: [], results: [i32] },
    required: true,
  },
  migrate: { names: ['migrate', 'cm32p2||migrate'], type: { params: [i32], results: [i32] }, required: true },
  'migrate-post': {
    names: ['cabi_post_migrate', 'cm32p2||migrate_post'],
    type: { params: [i32], results: [] },
    required: false,
  },
  reduce: {
    names: ['reduce', 'cm32p2||reduce'],
    type: { params: [i32, i32], results: [i32] },
    required: true,
  },
  'reduce-post': {
    names: ['cabi_post_reduce', 'cm32p2||reduce_post'],
    type: { params: [i32], results: [] },
    required: false,
  },
  realloc: {
    names: ['cabi_realloc', 'cm32p2_realloc'],
    type: { params: [i32, i32, i32, i32], results: [i32] },
    required: true,
  },
  initialize: {
    names: ['_initialize', 'cm32p2_initialize'],
    type: { params: [], results: [] },
    required: false,
  },
};

/** The memory export: legacy name, then cm32p2 name. */
export const MEMORY_EXPORT_NAMES = ['memory', 'cm32p2_memory'] as const;

/** The world-level functions a reducer exports, as reports name them. */
export const WORLD_FUNCTIONS = ['schema-version', 'migrate', 'reduce'] as const;

/**
 * Why an import outside the world is refused, for the imports toolchains are known to add; the
 * message must tell the author what to change.
 */
export function whyForbidden(module: string, name: string): string {
  if (module === 'env' && name === 'Date.now') {
    return "it reads the wall clock, and a reducer's only clock is the envelope's (`now()` from the SDK)";
  }
  if (module === 'env' && name === 'seed') {
    return "it seeds Math.random from the host's entropy; build with the SDK so that Math.random follows the envelope";
  }
  if (module === 'env' && name === 'abort') {
    return 'AssemblyScript aborts must trap inside the reducer; build with `tandem build` (it passes --use abort=)';
  }
  if (module === 'env' && (name === 'trace' || name.startsWith('console.'))) {
    return "it prints outside the world; use the SDK's log (the world's `log`)";
  }
  if (/^tandem:reducer\/(sql|env)@/.test(module)) {
    return `it was built for another version of the world (this host runs ${WORLD_PACKAGE}): build the reducer again with this version's \`tandem build\``;
  }
  if (module.startsWith('wasi')) {
    return 'WASI is outside the reducer world: a reducer reaches the world only through SQL, log, now and random';
  }
  return `it is not part of the world ${WORLD_PACKAGE} (a reducer may import only ${Object.keys(WORLD_IMPORTS).join(', ')})`;
}
