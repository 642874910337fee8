// The only sources of randomness a mutation may see, as pure functions of its envelope.
//
// Invariants:
// 1. `deriveSeed(timelineId, lsn)` is fixed forever: seed = mix64(fnv1a64(utf8(timelineId) ‖ u64le(lsn))),
//    with FNV-1a 64 (offset basis 0xcbf29ce484222325, prime 0x100000001b3) and mix64 the splitmix64
//    finalizer. Changing it changes every replayed mutation's randomness, so it is pinned by tests.
// 2. `SeededRandom` is splitmix64: state += 0x9e3779b97f4a7c15, output mix64(state). Its byte stream
//    (`fill`) takes each u64 little-endian and drops the unused tail of the last one.
// BigInt is slow but exact; these run a handful of times per mutation, never per row.

const MASK64 = (1n << 64n) - 1n;
const GOLDEN_GAMMA = 0x9e3779b97f4a7c15n;
const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;

function mix64(value: bigint): bigint {
  let z = value;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}

export class SeededRandom {
  #state: bigint;

  constructor(seed: bigint) {
    this.#state = BigInt.asUintN(64, seed);
  }

  nextU64(): bigint {
    this.#state = (this.#state + GOLDEN_GAMMA) & MASK64;
    return mix64(this.#state);
  }

  fill(out: Uint8Array): void {
    for (let i = 0; i < out.length; i += 8) {
      let word = this.nextU64();
      for (let j = i; j < Math.min(i + 8, out.length); j++) {
        out[j] = Number(word & 0xffn);
        word >>= 8n;
      }
    }
  }
}

const utf8 = new TextEncoder();

export function deriveSeed(timelineId: string, lsn: number): bigint {
  if (!Number.isSafeInteger(lsn) || lsn < 0)
    throw new RangeError(`lsn must be a non-negative integer: ${lsn}`);
  let hash = FNV_OFFSET;
  const absorb = (byte: number): void => {
    hash = ((hash ^ BigInt(byte)) * FNV_PRIME) & MASK64;
  };
  for (const byte of utf8.encode(timelineId)) absorb(byte);
  let rest = BigInt(lsn);
  for (let i = 0; i < 8; i++) {
    absorb(Number(rest & 0xffn));
    rest >>= 8n;
  }
  return mix64(hash);
}
