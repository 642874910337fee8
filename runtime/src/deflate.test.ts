import fc from 'fast-check';
import { expect, test } from 'vitest';
import { fflateDeflate, InflateError, nodeZlibDeflate, type RawDeflate, rawDeflate } from './deflate.js';

const SEED = 20261205;
const PAGE = 4096;
const zlib = nodeZlibDeflate()!;
const BOTH: readonly RawDeflate[] = [zlib, fflateDeflate];

/** Bytes like a page delta's: mostly runs of one byte with a few edits, or noise. */
const bytes = fc.oneof(
  fc
    .tuple(
      fc.integer({ min: 0, max: 255 }),
      fc.integer({ min: 0, max: 3 * PAGE }),
      fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 64 }),
    )
    .map(([fill, length, edits]) => {
      const data = new Uint8Array(length).fill(fill);
      for (const [at, byte] of edits) if (length > 0) data[at % length] = byte;
      return data;
    }),
  fc.uint8Array({ maxLength: 2 * PAGE }),
);
const dictionary = fc.option(fc.uint8Array({ minLength: 1, maxLength: PAGE }), { nil: undefined });

/** What `inflate` gave: the bytes, or the kind of its refusal. */
function outcome(codec: RawDeflate, input: Uint8Array, limit: number, dict?: Uint8Array) {
  try {
    return { bytes: Array.from(codec.inflate(input, limit, dict)) };
  } catch (error) {
    if (!(error instanceof InflateError)) throw error;
    return { refused: error.kind };
  }
}

test('Node uses node:zlib; the browser implementation is fflate', () => {
  expect(rawDeflate.name).toBe('node:zlib');
  expect(fflateDeflate.name).toBe('fflate');
});

test('what either implementation deflates, both inflate to the same bytes, with or without a dictionary', () => {
  fc.assert(
    fc.property(bytes, dictionary, (data, dict) => {
      for (const writer of BOTH) {
        const deflated = writer.deflate(data, dict);
        for (const reader of BOTH) {
          const inflated = reader.inflate(deflated, data.length, dict);
          expect(inflated).toBeInstanceOf(Uint8Array);
          expect(Array.from(inflated), `${writer.name} → ${reader.name}`).toEqual(Array.from(data));
        }
      }
    }),
    { seed: SEED, numRuns: 150 },
  );
});

test('a stream cut short, emptied or made of garbage is refused as corrupt by both, one past the limit as too-large', () => {
  const data = new Uint8Array(PAGE).fill(9);
  data[100] = 1;
  const deflated = zlib.deflate(data);
  for (const codec of BOTH) {
    for (let cut = 0; cut < deflated.length; cut++) {
      expect(outcome(codec, deflated.subarray(0, cut), PAGE), `${codec.name} cut at ${cut}`).toEqual({
        refused: 'corrupt',
      });
    }
    expect(outcome(codec, new Uint8Array([0xff, 0xff, 0xff, 0xff]), PAGE)).toEqual({ refused: 'corrupt' });
    expect(outcome(codec, deflated, PAGE - 1)).toEqual({ refused: 'too-large' });
    // A few bytes that inflate to a megabyte: refused, never kept whole.
    expect(outcome(codec, zlib.deflate(new Uint8Array(1 << 20)), PAGE)).toEqual({ refused: 'too-large' });
    expect(outcome(codec, deflated, PAGE)).toEqual({ bytes: Array.from(data) });
  }
});

test('a damaged stream that zlib inflates, fflate inflates to the same bytes; one fflate refuses, zlib refuses', () => {
  fc.assert(
    fc.property(
      bytes,
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
      (data, flips) => {
        const damaged = zlib.deflate(data).slice();
        for (const [at, flip] of flips) damaged[at % damaged.length]! ^= flip;
        const limit = Math.max(data.length, 1);
        const [browser, node] = [outcome(fflateDeflate, damaged, limit), outcome(zlib, damaged, limit)];
        // fflate checks less than zlib (neither a stored block's length complement nor whether a
        // Huffman table is complete), so it may inflate what zlib refuses; never the other way round,
        // and never to other bytes. The kinds may differ for a stream both too long and corrupt.
        if ('bytes' in node) expect(browser).toEqual(node);
        if ('refused' in browser) expect(node).toHaveProperty('refused');
      },
    ),
    { seed: SEED, numRuns: 300 },
  );
});

test('what CompressionStream deflated (the snapshots and deltas written before) inflates alike with both', async () => {
  await fc.assert(
    fc.asyncProperty(bytes, async (data) => {
      const stream = new Blob([data as Uint8Array<ArrayBuffer>])
        .stream()
        .pipeThrough(new CompressionStream('deflate-raw'));
      const deflated = new Uint8Array(await new Response(stream).arrayBuffer());
      for (const reader of BOTH) {
        expect(Array.from(reader.inflate(deflated, data.length)), reader.name).toEqual(Array.from(data));
      }
    }),
    { seed: SEED, numRuns: 50 },
  );
});
