// Preparing a reducer: a component's main core module, taken out, metered with binaryen (meter.ts) and
// wrapped with the header that says how (prepared.ts). This is the one place that instruments, and it
// runs on the Node side only: the coordinator prepares its reducer once at start, runs those bytes in
// its workers and serves them to browsers by hash; host-node and the CLI prepare components they load
// themselves and, binaryen being pinned, get the same bytes (prepared.ts invariant 2). What is prepared
// is kept on disk by its inputs (shared-prepared.ts): a process that finds it there never imports
// the meter nor binaryen, and a found entry is used only if its header says it was made so. Reached
// through `@tandem/runtime/prepare`, never through the package's main entry, so a browser bundle holds
// no instrumenter.

import { sha256Hex } from '../sha256.js';
import { readReducerComponent } from './component.js';
import { ReducerLoadError } from './errors.js';
import { type LoadOptions, loadPreparedReducer, type ReducerModule } from './host.js';
import { resolveLimits } from './limits.js';
import { METER_VERSION } from './meter-abi.js';
import { encodePrepared, isPrepared, type PreparedHeader, readPrepared } from './prepared.js';
import { readSharedPrepared, writeSharedPrepared } from './shared-prepared.js';

/** Prepared reducers by component hash and the inputs of the instrumentation; failures are not kept. */
const prepared = new Map<string, Promise<Uint8Array>>();
const PREPARED_CACHE_SIZE = 16;

/**
 * The prepared reducer of a component, under `options.limits` (DEFAULT_LIMITS for those left out).
 * Bytes that already are a prepared reducer come back as they are, once loadable here. Throws
 * ReducerLoadError if the component cannot be run.
 */
export async function prepareReducer(
  source: Uint8Array | ArrayBuffer,
  options: LoadOptions = {},
): Promise<Uint8Array> {
  const bytes = source instanceof ArrayBuffer ? new Uint8Array(source.slice(0)) : new Uint8Array(source);
  if (isPrepared(bytes)) {
    await loadPreparedReducer(bytes, options);
    return bytes;
  }
  const limits = resolveLimits(options.limits);
  if (bytes.byteLength > limits.maxModuleBytes) {
    throw new ReducerLoadError(
      'too-large',
      `the reducer is ${bytes.byteLength} bytes; the limit is ${limits.maxModuleBytes}`,
    );
  }
  const sha256 = await sha256Hex([bytes]);
  const unmetered = options.unmetered ?? false;
  const meterVersion = unmetered ? 0 : METER_VERSION;
  const key = `${sha256}:${meterVersion}:${limits.maxMemoryPages}:${limits.maxStackBytes}`;
  let made = prepared.get(key);
  if (made === undefined) {
    made = (async () => {
      const header: PreparedHeader = {
        meterVersion,
        maxMemoryPages: limits.maxMemoryPages,
        maxStackBytes: limits.maxStackBytes,
        component: { sha256, bytes: bytes.byteLength },
      };
      // A hit was made from these very bytes by this very code (the key holds both), so their reading
      // (~10 ms of a cold process's open) is left to a miss: it would refuse them now as it did not then.
      const shared = await readSharedPrepared(key);
      if (shared !== undefined && madeAs(shared, header)) return shared;
      const core = readReducerComponent(bytes);
      await compileOriginal(core.module);
      // The meter (and binaryen behind it) loads only here: a process that finds its reducer prepared
      // never imports either.
      const module = unmetered
        ? core.module
        : await (await import('./meter.js')).meterCoreModule(
            core.module,
            limits.maxMemoryPages,
            limits.maxStackBytes,
          );
      const result = encodePrepared(module, header);
      await writeSharedPrepared(key, result);
      return result;
    })();
    prepared.set(key, made);
    if (prepared.size > PREPARED_CACHE_SIZE) prepared.delete(prepared.keys().next().value!);
  }
  try {
    return (await made).slice();
  } catch (error) {
    prepared.delete(key);
    throw error;
  }
}

/**
 * Loads a reducer component (preparing it) or a prepared reducer; throws ReducerLoadError if it is
 * neither or cannot be run.
 */
export async function loadReducer(
  source: Uint8Array | ArrayBuffer,
  options: LoadOptions = {},
): Promise<ReducerModule> {
  return loadPreparedReducer(await prepareReducer(source, options), options);
}

/** The original first: its refusal names the author's code, and the meter only reads valid modules. */
async function compileOriginal(core: Uint8Array): Promise<void> {
  try {
    await WebAssembly.compile(core.slice());
  } catch (error) {
    throw new ReducerLoadError(
      'malformed',
      `the reducer's core module does not compile: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}

/** True when `bytes` are a prepared reducer made under `header` (a cached entry for this key). */
function madeAs(bytes: Uint8Array, header: PreparedHeader): boolean {
  try {
    const made = readPrepared(bytes).header;
    return (
      made.meterVersion === header.meterVersion &&
      made.maxMemoryPages === header.maxMemoryPages &&
      made.maxStackBytes === header.maxStackBytes &&
      made.component.sha256 === header.component.sha256 &&
      made.component.bytes === header.component.bytes
    );
  } catch {
    return false;
  }
}
