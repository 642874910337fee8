import { Value } from '@sinclair/typebox/value';
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { Lsn } from './common.js';
import { MAX_PAYLOAD_BYTES } from './limits.js';
import { Payload, Timestamp } from './mutation-bounds.js';
import { mutationProblem, timestampProblem } from './mutation-domain.js';

/** What the schemas say of a mutation, worded as mutation-bounds.ts worded it before the plain checks. */
function schemaProblem(m: { lsn: unknown; timestamp: unknown; payload: unknown }): string | undefined {
  for (const [field, schema, value] of [
    ['lsn', Lsn, m.lsn],
    ['timestamp', Timestamp, m.timestamp],
    ['payload', Payload, m.payload],
  ] as const) {
    if (Value.Check(schema, value)) continue;
    const first = Value.Errors(schema, value).First();
    return `${field}${first?.path ?? ''}: ${first?.message ?? 'invalid'}`;
  }
  return undefined;
}

const edgeNumbers = fc.constantFrom(
  0,
  -0,
  1,
  -1,
  0.5,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER + 1,
  2 ** 64,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
);
const field = fc.oneof(
  edgeNumbers,
  fc.double(),
  fc.integer(),
  fc.bigInt(),
  fc.anything(),
  fc.uint8Array({ maxLength: 8 }),
  fc.constantFrom(
    new Uint8Array(MAX_PAYLOAD_BYTES),
    new Uint8Array(MAX_PAYLOAD_BYTES + 1),
    Buffer.alloc(3),
    new Uint16Array(2),
    new Uint8ClampedArray(2),
    new ArrayBuffer(2),
  ),
);

test('the plain mutation checks accept exactly what the push schemas accept, and refuse with the same words (fast-check)', () => {
  const seed = Number(process.env.FC_SEED ?? 20_261_206);
  console.log(`mutation domain property: FC_SEED=${seed}`);
  fc.assert(
    fc.property(field, field, field, (lsn, timestamp, payload) => {
      const m = { lsn, timestamp, payload };
      expect(mutationProblem(m)).toBe(schemaProblem(m));
      expect(timestampProblem(timestamp)).toBe(
        schemaProblem({ lsn: 0, timestamp, payload: new Uint8Array(0) }),
      );
    }),
    { seed, numRuns: 2000 },
  );
});
