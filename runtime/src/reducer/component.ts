// Reads a reducer component and takes out the one core module the host runs, checked against the
// world. The host never runs the component's other core modules: wit-component adds a shim module
// (an indirect-call table standing in for imports that need the main module's memory and realloc)
// and a fixup module (fills that table once the main module exists); this host binds the imports
// itself, so only the main module matters.
//
// Invariants:
// 1. The main module is the only core module, at any nesting depth, that exports `reduce`.
// 2. Each of its imports is a world function, under a world module name, with the world's core type.
// 3. It exports schema-version, migrate, reduce, cabi_realloc and one unshared 32-bit memory with the
//    world's core types; optional post-return and initialize exports, when present, have theirs too.

import { BinaryReader } from './binary-reader.js';
import {
  CORE_PREAMBLE,
  type CoreExport,
  type CoreModuleInfo,
  formatFuncType,
  readCoreModule,
  sameFuncType,
} from './core-module.js';
import { ReducerLoadError } from './errors.js';
import { FUEL_IMPORT, MEMORY_EXCEEDED_EXPORT, METER_MODULE, STACK_EXCEEDED_EXPORT } from './meter-abi.js';
import {
  MEMORY_EXPORT_NAMES,
  WORLD_EXPORTS,
  WORLD_IMPORTS,
  WORLD_PACKAGE,
  type WorldExport,
  type WorldImport,
  whyForbidden,
  worldImportOf,
} from './world.js';

export interface BoundImport {
  readonly module: string;
  readonly name: string;
  readonly func: WorldImport;
}

export interface ReducerCore {
  /** The main core module's bytes (a view into the component). */
  readonly module: Uint8Array;
  readonly imports: readonly BoundImport[];
  /** The core export name of each world export the module has. */
  readonly exports: Readonly<Partial<Record<WorldExport, string>>>;
  readonly memoryExport: string;
}

const COMPONENT_VERSION = [0x0d, 0x00, 0x01, 0x00] as const;
const SECTION_CORE_MODULE = 1;
const SECTION_COMPONENT = 4;
const MAX_NESTING = 16;

/** Parses `bytes` as a reducer component and returns its validated main core module. */
export function readReducerComponent(bytes: Uint8Array): ReducerCore {
  if (bytes.length < 8 || !CORE_PREAMBLE.slice(0, 4).every((b, i) => bytes[i] === b)) {
    throw new ReducerLoadError('not-wasm', 'not a WebAssembly binary (no \\0asm magic)');
  }
  if (CORE_PREAMBLE.slice(4).every((b, i) => bytes[4 + i] === b)) {
    throw new ReducerLoadError(
      'core-module-not-component',
      'this is a core WebAssembly module, not a component: build it with `tandem build`',
    );
  }
  const modules: Uint8Array[] = [];
  collectCoreModules(new BinaryReader(bytes, 'component'), 0, modules);
  let main: { bytes: Uint8Array; info: CoreModuleInfo; index: number } | undefined;
  modules.forEach((moduleBytes, index) => {
    const info = readCoreModule(moduleBytes, `core module ${index}`);
    if (!WORLD_EXPORTS.reduce.names.some((name) => info.exports.has(name))) return;
    if (main !== undefined) {
      throw new ReducerLoadError('malformed', `core modules ${main.index} and ${index} both export reduce`);
    }
    main = { bytes: moduleBytes, info, index };
  });
  if (main === undefined) {
    throw new ReducerLoadError(
      'missing-export',
      `no core module of the component exports \`reduce\` (${modules.length} core modules): it does not implement ${WORLD_PACKAGE}`,
    );
  }
  return { module: main.bytes, ...validateMainModule(main.info, false) };
}

function collectCoreModules(r: BinaryReader, depth: number, out: Uint8Array[]): void {
  if (depth > MAX_NESTING) r.fail(`components nested more than ${MAX_NESTING} deep`);
  const magic = r.take(4);
  if (!CORE_PREAMBLE.slice(0, 4).every((b, i) => magic[i] === b)) r.fail('bad magic');
  const version = r.take(4);
  if (!COMPONENT_VERSION.every((b, i) => version[i] === b)) {
    r.fail(`unsupported component version/layer ${[...version].map((b) => b.toString(16)).join(' ')}`);
  }
  while (!r.done) {
    const id = r.u8();
    const body = r.section(r.u32(), `section ${id}`);
    if (id === SECTION_CORE_MODULE) {
      out.push(body.take(body.end - body.pos));
    } else if (id === SECTION_COMPONENT) {
      collectCoreModules(
        new BinaryReader(body.bytes, `${body.what} (nested component)`, body.pos, body.end),
        depth + 1,
        out,
      );
    }
  }
}

/**
 * Checks a main core module against the world (invariants 2 and 3). A `metered` one (prepared.ts) must
 * also import the fuel global and export the meter's flags (meter-abi.ts), which are not world items.
 */
export function validateMainModule(info: CoreModuleInfo, metered: boolean): Omit<ReducerCore, 'module'> {
  const imports: BoundImport[] = [];
  let fuel = false;
  for (const imp of info.imports) {
    const label = `${imp.module}.${imp.name}`;
    if (metered && imp.module === METER_MODULE && imp.name === FUEL_IMPORT && imp.kind === 'global') {
      fuel = true;
      continue;
    }
    const func = worldImportOf(imp.module, imp.name);
    if (func === undefined) {
      throw new ReducerLoadError(
        'forbidden-import',
        `the reducer imports \`${label}\`, which is refused: ${whyForbidden(imp.module, imp.name)}`,
      );
    }
    if (imp.kind !== 'func') {
      throw new ReducerLoadError(
        'bad-signature',
        `the import \`${label}\` must be a function, not a ${imp.kind}`,
      );
    }
    const expected = WORLD_IMPORTS[func].type;
    if (!sameFuncType(imp.type, expected)) {
      throw new ReducerLoadError(
        'bad-signature',
        `the import \`${label}\` has core type ${formatFuncType(imp.type)}; the world's canonical ABI gives ${formatFuncType(expected)}`,
      );
    }
    imports.push({ module: imp.module, name: imp.name, func });
  }

  if (metered) {
    const flags = [MEMORY_EXCEEDED_EXPORT, STACK_EXCEEDED_EXPORT];
    if (!fuel || flags.some((name) => info.exports.get(name)?.kind !== 'global')) {
      throw new ReducerLoadError(
        'malformed',
        `the prepared module is not metered: it must import the global \`${METER_MODULE}.${FUEL_IMPORT}\` and export the globals ${flags.join(', ')}`,
      );
    }
  }

  const shared = info.memories.findIndex((m) => m.shared);
  if (shared >= 0) {
    throw new ReducerLoadError(
      'bad-signature',
      `memory ${shared} is shared: a reducer runs on one thread, deterministically, so shared memory and threads are refused`,
    );
  }

  const exports: Partial<Record<WorldExport, string>> = {};
  for (const [func, spec] of Object.entries(WORLD_EXPORTS) as [
    WorldExport,
    (typeof WORLD_EXPORTS)[WorldExport],
  ][]) {
    const found = pick(info, spec.names, func);
    if (found === undefined) {
      if (spec.required) {
        throw new ReducerLoadError(
          'missing-export',
          `the reducer does not export \`${spec.names[0]}\` (${func})`,
        );
      }
      continue;
    }
    const [name, exp] = found;
    if (exp.kind !== 'func') {
      throw new ReducerLoadError(
        'bad-signature',
        `the export \`${name}\` must be a function, not a ${exp.kind}`,
      );
    }
    if (!sameFuncType(exp.type, spec.type)) {
      throw new ReducerLoadError(
        'bad-signature',
        `the export \`${name}\` has core type ${formatFuncType(exp.type)}; the world's canonical ABI gives ${formatFuncType(spec.type)}`,
      );
    }
    exports[func] = name;
  }

  const memory = pick(info, MEMORY_EXPORT_NAMES, 'memory');
  if (memory === undefined) {
    throw new ReducerLoadError('missing-export', 'the reducer does not export its `memory`');
  }
  const [memoryExport, mem] = memory;
  if (mem.kind !== 'memory') {
    throw new ReducerLoadError(
      'bad-signature',
      `the export \`${memoryExport}\` must be a memory, not a ${mem.kind}`,
    );
  }
  if (mem.limits.is64) {
    throw new ReducerLoadError(
      'bad-signature',
      `the memory \`${memoryExport}\` is 64-bit; the canonical ABI used here is 32-bit`,
    );
  }
  return { imports, exports, memoryExport };
}

function pick(
  info: CoreModuleInfo,
  names: readonly string[],
  what: string,
): [string, CoreExport] | undefined {
  const present = names.filter((name) => info.exports.has(name));
  if (present.length > 1) {
    throw new ReducerLoadError(
      'malformed',
      `the module exports ${what} under two names: ${present.join(', ')}`,
    );
  }
  const name = present[0];
  return name === undefined ? undefined : [name, info.exports.get(name)!];
}
