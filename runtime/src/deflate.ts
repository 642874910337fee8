// Synchronous raw DEFLATE (RFC 1951, what `CompressionStream('deflate-raw')` reads and writes) on every
// host: node:zlib where Node runs us, fflate elsewhere (the browser has no synchronous zlib). A page
// delta is a few dozen bytes; a compression stream cost 190–300 µs to round-trip one, the synchronous
// call 6–25 µs. node:zlib is reached through `process.getBuiltinModule`, never imported, so a browser
// bundle holds no trace of it.
//
// Invariants:
// 1. Both implementations read each other's output (it is the same format): what one deflates the
//    other inflates to the same bytes, with or without a dictionary.
// 2. `inflate` returns the whole stream's output, at most `limit` bytes; anything else throws an
//    InflateError: `corrupt` (not a deflate-raw stream, or cut short; an empty input is one),
//    `too-large` (more than `limit` bytes, never kept whole; a stream both too long and corrupt may be
//    refused as either: zlib stops at the limit, fflate reads on). Bytes after the stream's last block
//    are ignored, as both zlib and fflate do.
// 3. In Node, an inflate whose output is at most SMALL_OUTPUT bytes (a page delta's) runs in fflate:
//    zlib's setup of a stream per call (a handle, a dictionary copied into its window) cost twice
//    fflate's whole call there (a dictionary page: ~110 µs against ~55 µs). Larger outputs (page
//    images) stay with zlib.
// 4. In Node, neither node:zlib nor fflate loads before the first call that needs it: a boot that
//    inflates nothing (an empty document) does not pay for them (fflate's import ~22 ms of CPU, zlib's
//    ~5 ms). `#fflate` (runtime/package.json) loads fflate on first use in Node and with this module
//    elsewhere, where nothing could load it synchronously later.
import { fflate } from '#fflate';

/** The most an inflate may give and still run in fflate under Node (invariant 3): a page's runs. */
const SMALL_OUTPUT = 8 * 1024;

export type InflateErrorKind = 'corrupt' | 'too-large';

export class InflateError extends Error {
  override readonly name = 'InflateError';
  readonly kind: InflateErrorKind;
  constructor(kind: InflateErrorKind, message: string, options?: ErrorOptions) {
    super(message, options);
    this.kind = kind;
  }
}

export interface RawDeflate {
  readonly name: 'node:zlib' | 'fflate';
  deflate(bytes: Uint8Array, dictionary?: Uint8Array): Uint8Array;
  /** The stream's output (invariant 2); `dictionary` must be the one it was deflated with. */
  inflate(bytes: Uint8Array, limit: number, dictionary?: Uint8Array): Uint8Array;
}

export const fflateDeflate: RawDeflate = {
  name: 'fflate',
  deflate: (bytes, dictionary) => fflate().deflateSync(bytes, dictionary === undefined ? {} : { dictionary }),
  inflate(bytes, limit, dictionary) {
    if (bytes.length === 0) throw new InflateError('corrupt', 'an empty deflate stream');
    // One byte of room past the limit: fflate writes nothing beyond the buffer it is given, so a
    // full buffer means the stream went past the limit.
    const out = new Uint8Array(limit + 1);
    let inflated: Uint8Array;
    try {
      inflated = fflate().inflateSync(bytes, { out, ...(dictionary !== undefined && { dictionary }) });
    } catch (error) {
      throw new InflateError('corrupt', `not a deflate-raw stream: ${describe(error)}`, { cause: error });
    }
    if (inflated.length > limit) throw new InflateError('too-large', `inflates past ${limit} bytes`);
    return inflated;
  },
};

interface NodeZlib {
  deflateRawSync(bytes: Uint8Array, options?: { dictionary?: Uint8Array }): Uint8Array;
  inflateRawSync(
    bytes: Uint8Array,
    options?: { maxOutputLength?: number; dictionary?: Uint8Array },
  ): Uint8Array;
}

/** node:zlib's synchronous calls, where this runs in Node. */
export function nodeZlibDeflate(): RawDeflate | undefined {
  const node = typeof process === 'undefined' ? undefined : process;
  if (node?.getBuiltinModule === undefined) return undefined;
  let loaded: NodeZlib | undefined;
  // At the first call, not here (invariant 4).
  const zlib = (): NodeZlib => {
    loaded ??= node.getBuiltinModule('node:zlib') as NodeZlib;
    return loaded;
  };
  return {
    name: 'node:zlib',
    deflate: (bytes, dictionary) =>
      asPlainBytes(zlib().deflateRawSync(bytes, dictionary === undefined ? {} : { dictionary })),
    inflate(bytes, limit, dictionary) {
      // A page delta's output: fflate's whole call costs less than zlib's setup of a stream (invariant 3).
      if (limit <= SMALL_OUTPUT) return fflateDeflate.inflate(bytes, limit, dictionary);
      if (bytes.length === 0) throw new InflateError('corrupt', 'an empty deflate stream');
      let inflated: Uint8Array;
      try {
        inflated = zlib().inflateRawSync(bytes, {
          // Past this zlib stops and throws: the output is never held whole.
          maxOutputLength: Math.max(limit, 1),
          ...(dictionary !== undefined && { dictionary }),
        });
      } catch (error) {
        if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
          throw new InflateError('too-large', `inflates past ${limit} bytes`, { cause: error });
        }
        throw new InflateError('corrupt', `not a deflate-raw stream: ${describe(error)}`, { cause: error });
      }
      if (inflated.length > limit) throw new InflateError('too-large', `inflates past ${limit} bytes`);
      return asPlainBytes(inflated);
    },
  };
}

/** The implementation this host uses. */
export const rawDeflate: RawDeflate = nodeZlibDeflate() ?? fflateDeflate;

/**
 * A Buffer as a plain Uint8Array over its own memory: zlib's results may be views into a shared pool,
 * and callers keep pages for long (and compare them with `toEqual`, which tells a Buffer apart).
 */
function asPlainBytes(buffer: Uint8Array): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
