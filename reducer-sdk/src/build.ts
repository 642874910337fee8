// `tandem build <dir>`: AssemblyScript → core module → checks → WebAssembly component + manifest.
//
// The component is the build's one artifact. What hosts run is its *prepared* form (runtime
// prepared.ts: the main core module metered with binaryen), made from it on the Node side: the
// coordinator prepares it once at start and serves those bytes to browsers by hash, host-node prepares
// it itself and gets the same bytes. The build does not write the prepared form: it depends on the
// runtime's meter version, so a file written now would go stale with the next runtime while the
// component stays valid for every runtime of its world. The manifest names the prepared hash this
// runtime gives, for reference (what `GET /reducers/current` answers with a coordinator of this version).

import { createHash } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { componentEmbed, componentNew } from '@bytecodealliance/jco';
import { METER_VERSION, type ReducerModule } from '@tandem/runtime';
import { compileCore } from './compile.js';
import { checkImports, readSchemaVersion } from './core-check.js';
import { SdkError } from './errors.js';
import { loadAsRuntime } from './inspect.js';
import { checkSources } from './source-check.js';
import { readWit, WORLD } from './world.js';

/** `manifest.json` beside `reducer.wasm`: what a host needs to know about a built reducer without loading it. */
export interface Manifest {
  readonly name: string;
  readonly world: typeof WORLD;
  /** Hex SHA-256 of `reducer.wasm`: the reducer's identity. */
  readonly sha256: string;
  readonly schemaVersion: number;
  /** Size of `reducer.wasm` in bytes. */
  readonly bytes: number;
  /**
   * Its prepared form under DEFAULT_LIMITS and this runtime's meter version: the identity hosts of
   * this version say in hello, and the bytes a coordinator of this version serves.
   */
  readonly prepared: { readonly sha256: string; readonly bytes: number; readonly meterVersion: number };
}

export interface BuildResult {
  readonly manifest: Manifest;
  readonly wasmPath: string;
  readonly manifestPath: string;
  readonly component: Uint8Array;
  /** The core module inside the component, as asc emitted it (after the export rename); not written to disk. */
  readonly core: Uint8Array;
  readonly milliseconds: number;
}

async function packageName(dir: string): Promise<string> {
  try {
    const parsed: unknown = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      'name' in parsed &&
      typeof parsed.name === 'string'
    ) {
      return parsed.name;
    }
  } catch {
    // No readable package.json: the folder names the reducer.
  }
  return basename(resolve(dir));
}

async function validate(core: Uint8Array<ArrayBuffer>): Promise<number> {
  const module = await WebAssembly.compile(core);
  checkImports(module);
  return readSchemaVersion(module);
}

/** Embeds the WIT, makes the component, and loads it as the runtime does (so every host accepts it). */
async function componentize(core: Uint8Array): Promise<{ component: Uint8Array; module: ReducerModule }> {
  let component: Uint8Array;
  try {
    const embedded = await componentEmbed({ binary: core, witSource: readWit(), world: 'reducer' });
    component = await componentNew(embedded);
  } catch (e) {
    throw new SdkError('world-mismatch', `the module does not fit ${WORLD}: ${String(e)}`, { cause: e });
  }
  const module = await loadAsRuntime(component).catch((e: unknown) => {
    throw new SdkError('world-mismatch', `the runtime refuses the component: ${String(e)}`, { cause: e });
  });
  return { component, module };
}

export interface BuildOptions {
  /** The folder `reducer.wasm` and `manifest.json` are written to; `<dir>/dist` by default. */
  readonly outDir?: string;
}

/**
 * Builds `<dir>/assembly/index.ts` into `reducer.wasm` and `manifest.json` in `outDir` (`<dir>/dist`
 * by default). Nothing else is written: with an `outDir` elsewhere, `<dir>` is only read.
 */
export async function buildReducer(dir: string, options: BuildOptions = {}): Promise<BuildResult> {
  const started = performance.now();
  const folder = await stat(dir).catch(() => undefined);
  if (folder === undefined) throw new SdkError('bad-input', `no such folder: ${dir}`);
  if (!folder.isDirectory()) {
    throw new SdkError(
      'bad-input',
      `${dir} is a file: give the reducer's folder (the one holding assembly/index.ts)`,
    );
  }
  const source = join(dir, 'assembly', 'index.ts');
  await readFile(source).catch((e: unknown) => {
    throw new SdkError(
      'bad-input',
      `no reducer source at ${source} (a reducer's folder holds assembly/index.ts, which exports SCHEMA_VERSION, migrate and reduce)`,
      { cause: e },
    );
  });
  // Before the compile (seconds), and naming the line, where the compiled module could only name the import.
  await checkSources(dir);
  const core = await compileCore(dir);
  const schemaVersion = await validate(core);
  const { component, module } = await componentize(core);
  const manifest: Manifest = {
    name: await packageName(dir),
    world: WORLD,
    sha256: createHash('sha256').update(component).digest('hex'),
    schemaVersion,
    bytes: component.byteLength,
    prepared: { sha256: module.sha256, bytes: module.bytes, meterVersion: METER_VERSION },
  };
  const out = options.outDir ?? join(dir, 'dist');
  const wasmPath = join(out, 'reducer.wasm');
  const manifestPath = join(out, 'manifest.json');
  try {
    await mkdir(out, { recursive: true });
    await writeFile(wasmPath, component);
    await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new SdkError('bad-input', `cannot write the build to ${out} (${reason})`, { cause: e });
  }
  return { manifest, wasmPath, manifestPath, component, core, milliseconds: performance.now() - started };
}
