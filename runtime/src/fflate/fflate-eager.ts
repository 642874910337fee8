// fflate imported with the module: in a browser nothing can load it synchronously later, and its calls
// must stay synchronous. Chosen by runtime/package.json's `#fflate` import outside Node.

import { deflateSync, inflateSync } from 'fflate';
import type { Fflate } from './fflate.js';

const module: Fflate = { deflateSync, inflateSync };

export function fflate(): Fflate {
  return module;
}
