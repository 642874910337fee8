import type { deflateSync, inflateSync } from 'fflate';

/** The part of fflate deflate.ts calls, as `#fflate` gives it on each host. */
export interface Fflate {
  readonly deflateSync: typeof deflateSync;
  readonly inflateSync: typeof inflateSync;
}
