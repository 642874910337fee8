// Compiles a reducer's AssemblyScript into a core module of the world: generated entry, asc with the
// minimal runtime, `abort` reported to the host (its message and place) and then a trap,
// `Math.random`'s seed routed to the envelope, and the export renamed that AssemblyScript cannot spell.
//
// asc runs over a file system of our own (its readFile/writeFile hooks), so the reducer's folder is
// only read: the entry file is served from memory, the core module is caught in memory, and every
// `@tandem/reducer-sdk/...` import is served from this SDK's own `assembly/`, whichever copy (or none)
// a node_modules near the reducer holds. The glue the entry calls is then always the glue this CLI
// generated it for. (An earlier version wrote `build/entry.ts` and a symlink to the SDK's absolute
// path into the reducer's folder, because asc finds packages only through node_modules or --path.)

import { readFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import asc, { type Transform } from 'assemblyscript/asc';
import { AbortLocation } from './abort-location.js';
import { ABORT_ALIAS, ENTRY_FILE, entrySource, SEED_ALIAS } from './entry.js';
import { SdkError } from './errors.js';
import { SDK_ROOT } from './world.js';

/** Where asc is told to write the core module; caught by the writeFile hook, never on disk. */
const CORE_FILE = 'build/core.wasm';

/** Exports renamed after compilation: AssemblyScript name → world name. */
const RENAMES: ReadonlyMap<string, string> = new Map([['schema_version', 'schema-version']]);

interface BinaryenExportInfo {
  readonly name: string;
  readonly value: string;
}
interface BinaryenModule {
  getExport(name: string): number;
  removeExport(name: string): void;
  addFunctionExport(internalName: string, externalName: string): number;
  getNumFunctions(): number;
  getFunctionByIndex(index: number): number;
  getGlobal(name: string): number;
  nop(): number;
  readonly global: { set(name: string, value: number): number };
  readonly i32: { const(value: number): number };
}
interface Binaryen {
  getExportInfo(ref: number): BinaryenExportInfo;
  getFunctionInfo(ref: number): { readonly name: string };
  readonly Function: { setBody(func: number, body: number): void };
}

/** The SDK function the build writes the body of (env.ts `unseedMath`), by the end of its internal name. */
const UNSEED_MATH = '/reducer-sdk/assembly/env/unseedMath';
/** AssemblyScript's flag that `Math.random` has its seed; there only when Math.random is compiled in. */
const MATH_SEEDED = '~lib/math/random_seeded';

/** An asc transform (a class: asc gives its prototype `binaryen` before instantiating it). */
class RenameExports {
  declare readonly binaryen: Binaryen;

  afterCompile(module: BinaryenModule): void {
    this.#unseedMath(module);
    for (const [from, to] of RENAMES) {
      const ref = module.getExport(from);
      if (ref === 0) continue;
      const internal = this.binaryen.getExportInfo(ref).value;
      module.removeExport(from);
      module.addFunctionExport(internal, to);
    }
  }

  /**
   * Gives env.ts `unseedMath` its body: clearing AssemblyScript's flag, so that `Math.random` asks for
   * a seed (the envelope's stream) at its next use; nothing when the reducer never uses Math.random.
   * (asc runs transforms before it optimizes, so the body is then inlined like any other.)
   */
  #unseedMath(module: BinaryenModule): void {
    for (let i = 0; i < module.getNumFunctions(); i++) {
      const func = module.getFunctionByIndex(i);
      if (!this.binaryen.getFunctionInfo(func).name.endsWith(UNSEED_MATH)) continue;
      const body =
        module.getGlobal(MATH_SEEDED) === 0
          ? module.nop()
          : module.global.set(MATH_SEEDED, module.i32.const(0));
      this.binaryen.Function.setBody(func, body);
      return;
    }
    throw new Error(`the SDK's ${UNSEED_MATH} was not compiled: Math.random would not follow each mutation`);
  }
}

/** `node_modules/@tandem/reducer-sdk/` inside an absolute path asc asks for. */
const SDK_IN_NODE_MODULES = `${sep}node_modules${sep}@tandem${sep}reducer-sdk${sep}`;

/**
 * The file asc asks for, as this build sees it: the generated entry, the SDK's own files for any
 * `node_modules/@tandem/reducer-sdk/` path (asc looks there first for a package import), else the disk.
 */
function sdkFileSystem(dir: string): (filename: string, baseDir: string) => Promise<string | null> {
  const entry = resolve(dir, ENTRY_FILE);
  const source = entrySource();
  return async (filename, baseDir) => {
    const path = resolve(baseDir, filename);
    if (path === entry) return source;
    const at = path.lastIndexOf(SDK_IN_NODE_MODULES);
    const real = at < 0 ? path : join(SDK_ROOT, path.slice(at + SDK_IN_NODE_MODULES.length));
    return readFile(real, 'utf8').catch(() => null);
  };
}

/** Compiles `<dir>/assembly/index.ts`; returns the core module's bytes or throws asc's diagnostics. */
export async function compileCore(dir: string): Promise<Uint8Array<ArrayBuffer>> {
  const output = asc.createMemoryStream();
  let core: Uint8Array<ArrayBuffer> | undefined;
  const { error } = await asc.main(
    [
      ENTRY_FILE,
      '--baseDir',
      dir,
      '--outFile',
      CORE_FILE,
      '--runtime',
      'minimal',
      '-O3',
      '--noAssert',
      '--noColors',
      '--use',
      `abort=${ABORT_ALIAS}`,
      '--use',
      `seed=${SEED_ALIAS}`,
    ],
    {
      stdout: output,
      stderr: output,
      readFile: sdkFileSystem(dir),
      writeFile: (filename, contents) => {
        if (filename === CORE_FILE && contents instanceof Uint8Array) core = new Uint8Array(contents);
      },
      // asc instantiates a transform class itself (see RenameExports).
      transforms: [RenameExports as unknown as Transform, AbortLocation as unknown as Transform],
    },
  );
  if (error || core === undefined) {
    const detail = output.toString().trim() || (error?.message ?? 'asc wrote no module');
    throw new SdkError(
      'compile-failed',
      `asc could not compile ${join(dir, 'assembly/index.ts')}:\n${detail}`,
      {
        cause: error,
      },
    );
  }
  return core;
}
