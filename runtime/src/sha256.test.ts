import fc from 'fast-check';
import { expect, test } from 'vitest';
import { concatBytes, toHex } from './bytes.js';
import { sha256Hex } from './sha256.js';

const seed = Number(process.env.FC_SEED ?? 20261206);

test('the digest of parts is WebCrypto’s SHA-256 of the parts back to back, however they are cut', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 5000 }), { maxLength: 8 }), async (parts) => {
      const whole = concatBytes(parts) as Uint8Array<ArrayBuffer>;
      const expected = toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', whole)));
      expect(await sha256Hex(parts)).toBe(expected);
    }),
    { seed, numRuns: 60 },
  );
});
