// The prepared reducer: what every host compiles and instantiates. A reducer component is prepared
// once, on the Node side (prepare.ts: its main core module taken out and metered with binaryen); the
// result is a plain core module whose first section records how it was made:
//
//   \0asm 01 00 00 00
//   custom section "tandem:prepared": format, meter version, maxMemoryPages, maxStackBytes (the inputs
//                  of the instrumentation besides the component), the component's size and SHA-256
//   the metered module's sections
//
// Invariants:
// 1. The bytes a host compiles are exactly the prepared reducer's bytes, so its SHA-256 names the code
//    that runs: that hash is the reducer's identity (`ReducerModule.sha256`, said in hello and welcome,
//    the coordinator's `/reducers/<sha256>.wasm`). Another component, another meter version or other
//    metered limits give other bytes, hence another identity.
// 2. Preparing is a pure function of the component, METER_VERSION and the two limits: the coordinator
//    and a Node client that prepare the same component get the same bytes (binaryen is pinned).
// 3. A host runs a prepared reducer only when the recorded meter version and limits are its own
//    (`meter-mismatch` otherwise): it never runs code metered under rules other than those its peers use.
// 4. Reading the header needs no binaryen: this module and host.ts are all a browser loads.

import { concatBytes, toHex } from '../bytes.js';
import { BinaryReader } from './binary-reader.js';
import { CORE_PREAMBLE } from './core-module.js';
import { ReducerLoadError } from './errors.js';

/** The name of the custom section that marks a prepared reducer. */
export const PREPARED_SECTION = 'tandem:prepared';
/** The layout of the section's payload; bump when it changes. */
const PREPARED_FORMAT = 1;
const SHA256_BYTES = 32;

export interface PreparedHeader {
  /** The METER_VERSION that metered the module; 0 for an unmetered module (LoadOptions.unmetered). */
  readonly meterVersion: number;
  readonly maxMemoryPages: number;
  readonly maxStackBytes: number;
  /** The component it was prepared from. */
  readonly component: { readonly sha256: string; readonly bytes: number };
}

export interface PreparedReducer {
  readonly header: PreparedHeader;
  /** The whole prepared reducer: what is compiled (the custom section is ignored by engines). */
  readonly bytes: Uint8Array;
}

const utf8 = new TextEncoder();

/** The prepared reducer made of `core` (a core module, preamble included) and `header`. */
export function encodePrepared(core: Uint8Array, header: PreparedHeader): Uint8Array {
  const hash = fromHex(header.component.sha256);
  const name = utf8.encode(PREPARED_SECTION);
  const payload = [
    ...leb(name.length),
    ...name,
    ...leb(PREPARED_FORMAT),
    ...leb(header.meterVersion),
    ...leb(header.maxMemoryPages),
    ...leb(header.maxStackBytes),
    ...leb(header.component.bytes),
    ...hash,
  ];
  return concatBytes([
    new Uint8Array(CORE_PREAMBLE),
    new Uint8Array([0, ...leb(payload.length), ...payload]),
    core.subarray(CORE_PREAMBLE.length),
  ]);
}

/** True when `bytes` start like a prepared reducer (a core module opening with its section). */
export function isPrepared(bytes: Uint8Array): boolean {
  try {
    return preparedSection(bytes) !== undefined;
  } catch {
    return false;
  }
}

/**
 * Reads a prepared reducer's header. Throws ReducerLoadError: `not-wasm`, `not-prepared` (a component,
 * or a core module without the section), or `malformed`.
 */
export function readPrepared(bytes: Uint8Array): PreparedReducer {
  if (bytes.length < 8 || !CORE_PREAMBLE.slice(0, 4).every((b, i) => bytes[i] === b)) {
    throw new ReducerLoadError('not-wasm', 'not a WebAssembly binary (no \\0asm magic)');
  }
  const body = preparedSection(bytes);
  if (body === undefined) {
    const component = !CORE_PREAMBLE.slice(4).every((b, i) => bytes[4 + i] === b);
    throw new ReducerLoadError(
      'not-prepared',
      component
        ? 'this is a reducer component, not a prepared reducer: this host runs only reducers prepared (metered) on the Node side, as the coordinator serves them (GET /reducers/current)'
        : `a core WebAssembly module without a "${PREPARED_SECTION}" section: not a prepared reducer`,
    );
  }
  const format = body.u32();
  if (format !== PREPARED_FORMAT) {
    body.fail(`prepared reducer format ${format}; this host reads format ${PREPARED_FORMAT}`);
  }
  const header: PreparedHeader = {
    meterVersion: body.u32(),
    maxMemoryPages: body.u32(),
    maxStackBytes: body.u32(),
    component: { bytes: body.u32(), sha256: toHex(body.take(SHA256_BYTES)) },
  };
  if (!body.done) body.fail('the prepared section has trailing bytes');
  return { header, bytes };
}

/** The payload of the `tandem:prepared` section after its name, if it is the first section. */
function preparedSection(bytes: Uint8Array): BinaryReader | undefined {
  const r = new BinaryReader(bytes, 'prepared reducer');
  for (const expected of CORE_PREAMBLE) if (r.u8() !== expected) return undefined;
  if (r.done || r.u8() !== 0) return undefined;
  const body = r.section(r.u32(), `"${PREPARED_SECTION}" section`);
  return body.name() === PREPARED_SECTION ? body : undefined;
}

function fromHex(hex: string): number[] {
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new RangeError(`not a hex SHA-256: ${hex}`);
  return Array.from({ length: SHA256_BYTES }, (_, i) => Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16));
}

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}
