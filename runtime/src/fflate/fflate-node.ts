// fflate in Node, loaded on its first use: its import compiles it and builds its Huffman tables (~22 ms of
// CPU, 11 of them the tables), which a boot that inflates nothing (an empty document) would pay for
// nothing. Loaded through `require`, which is synchronous, so the deflate calls stay synchronous; node:module
// is reached through `process.getBuiltinModule`, as deflate.ts reaches zlib (runtime imports no `node:`).
// Chosen by runtime/package.json's `#fflate` import under the `node` condition; fflate-eager.ts elsewhere.

import type { Fflate } from './fflate.js';

let loaded: Fflate | undefined;

export function fflate(): Fflate {
  if (loaded === undefined) {
    const { createRequire } = process.getBuiltinModule('node:module');
    loaded = createRequire(import.meta.url)('fflate') as Fflate;
  }
  return loaded;
}
