// Hex SHA-256 over byte parts, one after another, on every host: node:crypto where Node runs us (in
// place and at once: reached through `process.getBuiltinModule`, as deflate.ts reaches zlib, so bundles
// never see it), WebCrypto elsewhere (it copies its input and answers a turn later). Both give the same
// digest of the same bytes. The parts are read before the first await: a caller may change them after.
import { concatBytes, toHex } from './bytes.js';

interface NodeHash {
  update(bytes: Uint8Array): NodeHash;
  digest(encoding: 'hex'): string;
}

export async function sha256Hex(parts: readonly Uint8Array[]): Promise<string> {
  const hash = nodeSha256();
  if (hash !== undefined) {
    for (const part of parts) hash.update(part);
    return hash.digest('hex');
  }
  // WebCrypto copies its input before it returns; the stores' arrays are never shared memory.
  const bytes = parts.length === 1 ? parts[0]! : concatBytes(parts);
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)));
}

/** A SHA-256 of node:crypto, where this runs in Node. */
function nodeSha256(): NodeHash | undefined {
  const node = typeof process === 'undefined' ? undefined : process;
  const crypto = node?.getBuiltinModule?.('node:crypto') as
    | { createHash(algorithm: 'sha256'): NodeHash }
    | undefined;
  return crypto?.createHash('sha256');
}
