// The only sources of randomness a mutation may see, as pure functions of its envelope.
//
// Invariants:
// 1. `deriveSeed(timelineId, lsn)` is fixed forever: seed = mix64(fnv1a64(utf8(timelineId) ‖ u64le(lsn))),
//    with FNV-1a 64 (offset basis 0xcbf29ce484222325, prime 0x100000001b3) and mix64 the splitmix64
//    finalizer; utf8 is what TextEncoder gives (a lone surrogate as U+FFFD). Changing it changes every
//    replayed mutation's randomness, so it is pinned by tests.
// 2. `SeededRandom` is splitmix64: state += 0x9e3779b97f4a7c15, output mix64(state). Its byte stream
//    (`fill`) takes each u64 little-endian and drops the unused tail of the last one.
// Why 32-bit words: these run at least once per mutation (the SDK draws one value as it enters each), so
// the arithmetic is exact 64-bit arithmetic on pairs of uint32 (Math.imul and 16-bit limbs), never a
// BigInt per step, and the timeline id is read as UTF-16 and hashed as its UTF-8 bytes without encoding it.

/** A 64-bit value as two unsigned 32-bit words. */
export interface Seed {
  readonly hi: number;
  readonly lo: number;
}

const TWO_32 = 4294967296;

// Every intermediate word lives here, never in a module variable: a uint32 above 2^31 stored in one is
// a heap number, so each step allocated (~0.6 µs per seed, most of it garbage).
const HI = 0;
const LO = 1;
const FNV_HI = 2;
const FNV_LO = 3;
const CACHED_HI = 4;
const CACHED_LO = 5;
const words = new Uint32Array(6);

/** (ah:al) × (bh:bl) mod 2^64 into words[HI]:words[LO]. */
function mul64(ah: number, al: number, bh: number, bl: number): void {
  const a0 = al & 0xffff;
  const a1 = al >>> 16;
  const b0 = bl & 0xffff;
  const b1 = bl >>> 16;
  const mid = a1 * b0 + a0 * b1; // < 2^33: exact as a double
  const low = a0 * b0 + (mid % 65536) * 65536; // < 2^33
  words[LO] = low;
  words[HI] =
    a1 * b1 + Math.floor(mid / 65536) + Math.floor(low / TWO_32) + Math.imul(ah, bl) + Math.imul(al, bh);
}

/** The splitmix64 finalizer of hi:lo into words[HI]:words[LO]. */
function mix64(hi: number, lo: number): void {
  let h = hi;
  let l = lo;
  l ^= (l >>> 30) | (h << 2);
  h ^= h >>> 30;
  mul64(h >>> 0, l >>> 0, 0xbf58476d, 0x1ce4e5b9);
  h = words[HI]!;
  l = words[LO]!;
  l ^= (l >>> 27) | (h << 5);
  h ^= h >>> 27;
  mul64(h >>> 0, l >>> 0, 0x94d049bb, 0x133111eb);
  h = words[HI]!;
  l = words[LO]!;
  words[LO] = l ^ ((l >>> 31) | (h << 1));
  words[HI] = h ^ (h >>> 31);
}

const scratch = new DataView(new ArrayBuffer(8));

function toBigInt(hi: number, lo: number): bigint {
  scratch.setUint32(0, hi);
  scratch.setUint32(4, lo);
  return scratch.getBigUint64(0);
}

function toSeed(value: bigint | Seed): Seed {
  if (typeof value !== 'bigint') return { hi: value.hi >>> 0, lo: value.lo >>> 0 };
  scratch.setBigUint64(0, BigInt.asUintN(64, value));
  return { hi: scratch.getUint32(0), lo: scratch.getUint32(4) };
}

export class SeededRandom {
  // The state hi:lo, kept as int32 (small integers, stored without allocating); read back with >>> 0.
  #hi: number;
  #lo: number;

  constructor(seed: bigint | Seed) {
    const { hi, lo } = toSeed(seed);
    this.#hi = hi | 0;
    this.#lo = lo | 0;
  }

  /** Advances the state and leaves the output in words[HI]:words[LO]. */
  #step(): void {
    const lo = (this.#lo >>> 0) + 0x7f4a7c15;
    const hi = ((this.#hi >>> 0) + 0x9e3779b9 + (lo >= TWO_32 ? 1 : 0)) >>> 0;
    this.#lo = lo | 0;
    this.#hi = hi | 0;
    mix64(hi, lo >>> 0);
  }

  nextU64(): bigint {
    this.#step();
    return toBigInt(words[HI]!, words[LO]!);
  }

  fill(out: Uint8Array): void {
    for (let i = 0; i < out.length; i += 8) {
      this.#step();
      const end = Math.min(i + 8, out.length);
      let word = words[LO]!;
      for (let j = i; j < end; j++) {
        if (j === i + 4) word = words[HI]!;
        out[j] = word & 0xff;
        word >>>= 8;
      }
    }
  }
}

/** One FNV-1a 64 step on words[FNV_HI]:words[FNV_LO]: hash ^= byte; hash *= 2^40 + 0x1b3. */
function absorb(byte: number): void {
  const lo = (words[FNV_LO]! ^ byte) >>> 0;
  const product = lo * 0x1b3; // < 2^41: exact
  words[FNV_HI] = Math.imul(words[FNV_HI]!, 0x1b3) + Math.floor(product / TWO_32) + (lo << 8);
  words[FNV_LO] = product;
}

function absorbUtf8(text: string): void {
  for (let i = 0; i < text.length; i++) {
    let code = text.charCodeAt(i);
    if (code < 0x80) {
      absorb(code);
      continue;
    }
    if (code < 0x800) {
      absorb(0xc0 | (code >>> 6));
      absorb(0x80 | (code & 0x3f));
      continue;
    }
    if (code >= 0xd800 && code <= 0xdfff) {
      const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        const point = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
        i++;
        absorb(0xf0 | (point >>> 18));
        absorb(0x80 | ((point >>> 12) & 0x3f));
        absorb(0x80 | ((point >>> 6) & 0x3f));
        absorb(0x80 | (point & 0x3f));
        continue;
      }
      code = 0xfffd;
    }
    absorb(0xe0 | (code >>> 12));
    absorb(0x80 | ((code >>> 6) & 0x3f));
    absorb(0x80 | (code & 0x3f));
  }
}

// The last timeline id seen, whose hash is words[CACHED_HI]:words[CACHED_LO]: a replica derives seed
// after seed on the same timeline.
let cachedTimeline: string | undefined;

/** The seed of the mutation `lsn` of `timelineId` (invariant 1), as words. */
export function deriveSeedWords(timelineId: string, lsn: number): Seed {
  if (!Number.isSafeInteger(lsn) || lsn < 0)
    throw new RangeError(`lsn must be a non-negative integer: ${lsn}`);
  if (timelineId !== cachedTimeline) {
    words[FNV_HI] = 0xcbf29ce4;
    words[FNV_LO] = 0x84222325;
    absorbUtf8(timelineId);
    cachedTimeline = timelineId;
    words[CACHED_HI] = words[FNV_HI]!;
    words[CACHED_LO] = words[FNV_LO]!;
  }
  words[FNV_HI] = words[CACHED_HI]!;
  words[FNV_LO] = words[CACHED_LO]!;
  const lsnLo = lsn >>> 0;
  const lsnHi = Math.floor(lsn / TWO_32);
  for (let shift = 0; shift < 32; shift += 8) absorb((lsnLo >>> shift) & 0xff);
  for (let shift = 0; shift < 32; shift += 8) absorb((lsnHi >>> shift) & 0xff);
  mix64(words[FNV_HI]!, words[FNV_LO]!);
  return { hi: words[HI]!, lo: words[LO]! };
}

export function deriveSeed(timelineId: string, lsn: number): bigint {
  const { hi, lo } = deriveSeedWords(timelineId, lsn);
  return toBigInt(hi, lo);
}
