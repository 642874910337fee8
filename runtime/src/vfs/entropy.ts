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

// The result of the word operations below, so that they allocate nothing.
let outHi = 0;
let outLo = 0;

/** (ah:al) × (bh:bl) mod 2^64 into outHi:outLo. */
function mul64(ah: number, al: number, bh: number, bl: number): void {
  const a0 = al & 0xffff;
  const a1 = al >>> 16;
  const b0 = bl & 0xffff;
  const b1 = bl >>> 16;
  const mid = a1 * b0 + a0 * b1; // < 2^33: exact as a double
  const low = a0 * b0 + (mid % 65536) * 65536; // < 2^33
  outLo = low >>> 0;
  outHi =
    (a1 * b1 + Math.floor(mid / 65536) + Math.floor(low / TWO_32) + Math.imul(ah, bl) + Math.imul(al, bh)) >>>
    0;
}

/** The splitmix64 finalizer of hi:lo into outHi:outLo. */
function mix64(hi: number, lo: number): void {
  let h = hi;
  let l = lo;
  l ^= (l >>> 30) | (h << 2);
  h ^= h >>> 30;
  mul64(h >>> 0, l >>> 0, 0xbf58476d, 0x1ce4e5b9);
  h = outHi;
  l = outLo;
  l ^= (l >>> 27) | (h << 5);
  h ^= h >>> 27;
  mul64(h >>> 0, l >>> 0, 0x94d049bb, 0x133111eb);
  h = outHi;
  l = outLo;
  outLo = (l ^ ((l >>> 31) | (h << 1))) >>> 0;
  outHi = (h ^ (h >>> 31)) >>> 0;
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
  #hi: number;
  #lo: number;

  constructor(seed: bigint | Seed) {
    const { hi, lo } = toSeed(seed);
    this.#hi = hi;
    this.#lo = lo;
  }

  /** Advances the state and leaves the output in outHi:outLo. */
  #step(): void {
    const lo = this.#lo + 0x7f4a7c15;
    this.#lo = lo >>> 0;
    this.#hi = (this.#hi + 0x9e3779b9 + (lo >= TWO_32 ? 1 : 0)) >>> 0;
    mix64(this.#hi, this.#lo);
  }

  nextU64(): bigint {
    this.#step();
    return toBigInt(outHi, outLo);
  }

  fill(out: Uint8Array): void {
    for (let i = 0; i < out.length; i += 8) {
      this.#step();
      const end = Math.min(i + 8, out.length);
      let word = outLo;
      for (let j = i; j < end; j++) {
        if (j === i + 4) word = outHi;
        out[j] = word & 0xff;
        word >>>= 8;
      }
    }
  }
}

// FNV-1a 64 state, hi:lo.
let fnvHi = 0;
let fnvLo = 0;

/** One FNV-1a 64 step: hash ^= byte; hash *= 2^40 + 0x1b3. */
function absorb(byte: number): void {
  const lo = (fnvLo ^ byte) >>> 0;
  const product = lo * 0x1b3; // < 2^41: exact
  fnvHi = (Math.imul(fnvHi, 0x1b3) + Math.floor(product / TWO_32) + (lo << 8)) >>> 0;
  fnvLo = product >>> 0;
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

// The hash of the last timeline id seen: a replica derives seed after seed on the same timeline.
let cachedTimeline: string | undefined;
let cachedHi = 0;
let cachedLo = 0;

/** The seed of the mutation `lsn` of `timelineId` (invariant 1), as words. */
export function deriveSeedWords(timelineId: string, lsn: number): Seed {
  if (!Number.isSafeInteger(lsn) || lsn < 0)
    throw new RangeError(`lsn must be a non-negative integer: ${lsn}`);
  if (timelineId !== cachedTimeline) {
    fnvHi = 0xcbf29ce4;
    fnvLo = 0x84222325;
    absorbUtf8(timelineId);
    cachedTimeline = timelineId;
    cachedHi = fnvHi;
    cachedLo = fnvLo;
  }
  fnvHi = cachedHi;
  fnvLo = cachedLo;
  const lsnLo = lsn >>> 0;
  const lsnHi = Math.floor(lsn / TWO_32);
  for (let shift = 0; shift < 32; shift += 8) absorb((lsnLo >>> shift) & 0xff);
  for (let shift = 0; shift < 32; shift += 8) absorb((lsnHi >>> shift) & 0xff);
  mix64(fnvHi, fnvLo);
  return { hi: outHi, lo: outLo };
}

export function deriveSeed(timelineId: string, lsn: number): bigint {
  const { hi, lo } = deriveSeedWords(timelineId, lsn);
  return toBigInt(hi, lo);
}
