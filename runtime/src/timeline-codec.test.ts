import fc from 'fast-check';
import { expect, test } from 'vitest';
import { decodeMutation, encodeMutation, TimelineCodecError } from './timeline-codec.js';

const SEED = Number(process.env.FC_SEED ?? 31337);

const envelope = fc.record({
  timelineId: fc.string({ unit: 'grapheme', maxLength: 40 }),
  lsn: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
  timestamp: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
  payload: fc.uint8Array({ maxLength: 300 }),
});

test('a mutation record decodes to the envelope it was encoded from', () => {
  fc.assert(
    fc.property(envelope, (m) => {
      expect(decodeMutation(encodeMutation(m))).toEqual(m);
    }),
    { seed: SEED, numRuns: 300 },
  );
});

test('a truncated or extended record is a typed error, never a wrong envelope', () => {
  fc.assert(
    fc.property(envelope, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 4 }), (m, cut, extra) => {
      const bytes = encodeMutation(m);
      const truncated = bytes.subarray(0, cut % bytes.length);
      expect(() => decodeMutation(truncated)).toThrow(TimelineCodecError);
      const extended = new Uint8Array([...bytes, ...extra]);
      expect(() => decodeMutation(extended)).toThrow(TimelineCodecError);
    }),
    { seed: SEED, numRuns: 300 },
  );
});

test('random bytes decode to a typed error or a valid envelope, never anything else', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      try {
        const m = decodeMutation(bytes);
        expect(decodeMutation(encodeMutation(m))).toEqual(m);
      } catch (error) {
        expect(error).toBeInstanceOf(TimelineCodecError);
      }
    }),
    { seed: SEED, numRuns: 1000 },
  );
});

test('an lsn beyond 2^53 is refused rather than rounded', () => {
  const bytes = encodeMutation({ timelineId: 't', lsn: 1, timestamp: 2, payload: new Uint8Array() });
  new DataView(bytes.buffer).setBigUint64(1, 2n ** 60n, true);
  expect(() => decodeMutation(bytes)).toThrow(/beyond 2\^53/);
});
