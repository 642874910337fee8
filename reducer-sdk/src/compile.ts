// Compiles a reducer's AssemblyScript into a core module of the world: generated entry, asc with the
// minimal runtime, `abort` turned into a trap, `Math.random`'s seed routed to the envelope, and the
// export renamed that AssemblyScript cannot spell.

import { mkdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import asc, { type Transform } from 'assemblyscript/asc';
import { ENTRY_FILE, entrySource, SEED_ALIAS } from './entry.js';
import { SdkError } from './errors.js';
import { SDK_ROOT } from './world.js';

/** The core module asc emits, relative to the reducer's folder (kept for inspection). */
export const CORE_FILE = 'build/core.wasm';

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
}
interface Binaryen {
  getExportInfo(ref: number): BinaryenExportInfo;
}

/** An asc transform (a class: asc gives its prototype `binaryen` before instantiating it). */
class RenameExports {
  declare readonly binaryen: Binaryen;

  afterCompile(module: BinaryenModule): void {
    for (const [from, to] of RENAMES) {
      const ref = module.getExport(from);
      if (ref === 0) continue;
      const internal = this.binaryen.getExportInfo(ref).value;
      module.removeExport(from);
      module.addFunctionExport(internal, to);
    }
  }
}

/**
 * Makes `@tandem/reducer-sdk/assembly` resolve to this SDK from any folder, also one outside the
 * workspace: `<dir>/build/lib/@tandem/reducer-sdk/assembly` links to this SDK's `assembly/` (only
 * there, so test runners that follow links find nothing else), and `<dir>/build/lib` is given to asc
 * as a package path.
 */
async function linkSdk(dir: string): Promise<string> {
  const lib = join(dir, 'build', 'lib');
  const target = join(SDK_ROOT, 'assembly');
  const link = join(lib, '@tandem', 'reducer-sdk', 'assembly');
  if ((await readlink(link).catch(() => null)) !== target) {
    await rm(join(lib, '@tandem'), { force: true, recursive: true });
    await mkdir(dirname(link), { recursive: true });
    await symlink(target, link, 'dir');
  }
  return lib;
}

/** Compiles `<dir>/assembly/index.ts` into `<dir>/build/core.wasm`; returns its bytes or throws asc's diagnostics. */
export async function compileCore(dir: string): Promise<Uint8Array<ArrayBuffer>> {
  await mkdir(join(dir, 'build'), { recursive: true });
  await writeFile(join(dir, ENTRY_FILE), entrySource());
  const lib = await linkSdk(dir);
  const output = asc.createMemoryStream();
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
      'abort=',
      '--use',
      `seed=${SEED_ALIAS}`,
      '--path',
      lib,
    ],
    {
      stdout: output,
      stderr: output,
      // asc instantiates a transform class itself (see RenameExports).
      transforms: [RenameExports as unknown as Transform],
    },
  );
  if (error) {
    const detail = output.toString().trim() || error.message;
    throw new SdkError(
      'compile-failed',
      `asc could not compile ${join(dir, 'assembly/index.ts')}:\n${detail}`,
      {
        cause: error,
      },
    );
  }
  return new Uint8Array(await readFile(join(dir, CORE_FILE)));
}
