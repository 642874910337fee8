import { expect, test } from 'vitest';
import { deriveSeed, SeededRandom } from './entropy.js';

test('SeededRandom is splitmix64 (reference outputs for seed 0)', () => {
  const random = new SeededRandom(0n);
  expect([random.nextU64(), random.nextU64(), random.nextU64()]).toEqual([
    0xe220a8397b1dcdafn,
    0x6e789e6aa1b965f4n,
    0x06c45d188009454fn,
  ]);
});

test('the byte stream is each u64 little-endian, with the tail of the last one dropped', () => {
  const bytes = new Uint8Array(11);
  new SeededRandom(0n).fill(bytes);
  expect([...bytes]).toEqual([0xaf, 0xcd, 0x1d, 0x7b, 0x39, 0xa8, 0x20, 0xe2, 0xf4, 0x65, 0xb9]);
  const next = new SeededRandom(0n);
  next.fill(new Uint8Array(11));
  expect(next.nextU64()).toBe(0x06c45d188009454fn);
});

test('a seed is taken modulo 2^64', () => {
  expect(new SeededRandom(-1n).nextU64()).toBe(new SeededRandom((1n << 64n) - 1n).nextU64());
});

// Pinned: these values were computed by an independent implementation of the documented formula,
// mix64(fnv1a64(utf8(timelineId) ‖ u64le(lsn))). Changing them changes every replayed mutation.
test('deriveSeed is the documented fixed hash of the timeline id and the lsn', () => {
  expect(deriveSeed('', 0)).toBe(0x813f0174a2367c13n);
  expect(deriveSeed('timeline-a', 0)).toBe(0xc38d0f42eafa7409n);
  expect(deriveSeed('timeline-a', 1)).toBe(0x92c838887804c807n);
  expect(deriveSeed('ünïcode ✓', Number.MAX_SAFE_INTEGER)).toBe(0x33b38d49509d56ben);
});

test('deriveSeed refuses an lsn that is not a non-negative safe integer', () => {
  for (const lsn of [-1, 1.5, Number.NaN, 2 ** 53]) expect(() => deriveSeed('t', lsn)).toThrow(RangeError);
});
