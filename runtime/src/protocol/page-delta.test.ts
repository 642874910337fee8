import fc from 'fast-check';
import { expect, test } from 'vitest';
import { PAGE_SIZE } from '../vfs/page-store.js';
import { ProtocolError } from './codec.js';
import { MAX_DELTA_BYTES } from './limits.js';
import { decodePageDelta, encodePageDelta } from './page-delta.js';

const SEED = 20261129;

/** A page: mostly runs of one byte (like SQLite's), with a few random edits. */
const page = fc
  .tuple(
    fc.integer({ min: 0, max: 255 }),
    fc.array(fc.tuple(fc.nat(PAGE_SIZE - 1), fc.nat(255)), { maxLength: 64 }),
  )
  .map(([fill, edits]) => {
    const data = new Uint8Array(PAGE_SIZE).fill(fill);
    for (const [at, byte] of edits) data[at] = byte;
    return data;
  });
const noise = fc.uint8Array({ minLength: PAGE_SIZE, maxLength: PAGE_SIZE });

test('a delta decodes against the previous version to exactly the next page', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.option(fc.oneof(page, noise), { nil: undefined }),
      fc.oneof(page, noise),
      async (previous, next) => {
        const delta = await encodePageDelta(previous, next);
        expect(delta.length).toBeLessThanOrEqual(MAX_DELTA_BYTES);
        expect(await decodePageDelta(previous, delta)).toEqual(next);
      },
    ),
    { seed: SEED, numRuns: 200 },
  );
});

test('a one-byte change of a page full of data encodes to a few dozen bytes', async () => {
  await fc.assert(
    fc.asyncProperty(
      noise,
      fc.nat(PAGE_SIZE - 1),
      fc.integer({ min: 1, max: 255 }),
      async (previous, at, flip) => {
        const next = previous.slice();
        next[at]! ^= flip;
        expect((await encodePageDelta(previous, next)).length).toBeLessThan(40);
      },
    ),
    { seed: SEED, numRuns: 50 },
  );
});

test('a corrupt, short, overlong or oversized delta is a ProtocolError, never a wrong page', async () => {
  const previous = new Uint8Array(PAGE_SIZE).fill(3);
  const expectRefused = async (delta: Uint8Array, kind: 'malformed' | 'oversized') => {
    const error = (() => {
      try {
        return decodePageDelta(previous, delta);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).kind).toBe(kind);
  };
  await expectRefused(new Uint8Array([0xff, 0xff, 0xff, 0xff]), 'malformed');
  await expectRefused(encodePageDelta(undefined, new Uint8Array(PAGE_SIZE)).subarray(0, 1), 'malformed');
  const short = await deflate(new Uint8Array(PAGE_SIZE - 1));
  await expectRefused(short, 'malformed');
  // A few bytes that inflate to a megabyte: refused once past PAGE_SIZE, not buffered whole.
  await expectRefused(await deflate(new Uint8Array(1 << 20)), 'oversized');
  await expectRefused(new Uint8Array(MAX_DELTA_BYTES + 1), 'oversized');
});

async function deflate(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>])
    .stream()
    .pipeThrough(new CompressionStream('deflate-raw'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
