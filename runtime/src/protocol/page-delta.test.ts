import fc from 'fast-check';
import { expect, test } from 'vitest';
import { fflateDeflate, nodeZlibDeflate, type RawDeflate } from '../deflate.js';
import { PAGE_SIZE } from '../vfs/page-store.js';
import { ProtocolError } from './codec.js';
import { MAX_DELTA_BYTES } from './limits.js';
import {
  DELTA_ENCODINGS,
  decodePageDelta,
  encodePageDelta,
  encodeWireFrame,
  MAX_RUNS_BYTES,
  PageVersions,
} from './page-delta.js';

const SEED = 20261129;
const zlib = nodeZlibDeflate()!;
const HOSTS = [
  ['Node', zlib],
  ['the browser', fflateDeflate],
] as const;

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
/** The previous page with a stretch moved by a few bytes, as a B-tree cell insert moves the pointers after it. */
const shifted = (previous: Uint8Array, from: number, by: number): Uint8Array => {
  const next = previous.slice();
  next.copyWithin(from + by, from, PAGE_SIZE - by);
  return next;
};

function refusal(decode: () => unknown): string | undefined {
  try {
    decode();
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return (error as ProtocolError).kind;
  }
}

test('a delta made on either host decodes on both against the previous version to exactly the next page', () => {
  fc.assert(
    fc.property(
      fc.option(fc.oneof(page, noise), { nil: undefined }),
      fc.oneof(page, noise),
      fc.nat(PAGE_SIZE - 64),
      fc.integer({ min: 1, max: 16 }),
      fc.boolean(),
      (previous, other, from, by, shift) => {
        const next = shift && previous !== undefined ? shifted(previous, from, by) : other;
        for (const [maker, deflate] of HOSTS) {
          const delta = encodePageDelta(previous, next, deflate);
          expect(delta.length).toBeLessThanOrEqual(MAX_DELTA_BYTES);
          for (const [reader, inflate] of HOSTS) {
            expect(Array.from(decodePageDelta(previous, delta, inflate)), `${maker} → ${reader}`).toEqual(
              Array.from(next),
            );
          }
        }
      },
    ),
    { seed: SEED, numRuns: 150 },
  );
});

test('a page held at any byte offset of a larger buffer gives the same delta as a page of its own', () => {
  const at = (data: Uint8Array, offset: number): Uint8Array => {
    const buffer = new Uint8Array(PAGE_SIZE + 8);
    buffer.set(data, offset);
    return buffer.subarray(offset, offset + PAGE_SIZE);
  };
  fc.assert(
    fc.property(
      fc.option(page, { nil: undefined }),
      page,
      fc.nat(3),
      fc.nat(3),
      (previous, next, previousOffset, nextOffset) => {
        const own = encodePageDelta(previous, next, zlib);
        const moved = previous && at(previous, previousOffset);
        const viewed = encodePageDelta(moved, at(next, nextOffset), zlib);
        expect(Array.from(viewed)).toEqual(Array.from(own));
        expect(Array.from(decodePageDelta(moved, viewed, zlib))).toEqual(Array.from(next));
      },
    ),
    { seed: SEED, numRuns: 200 },
  );
});

test('a one-byte change of a page full of data encodes to at most 5 bytes', () => {
  fc.assert(
    fc.property(noise, fc.nat(PAGE_SIZE - 1), fc.integer({ min: 1, max: 255 }), (previous, at, flip) => {
      const next = previous.slice();
      next[at]! ^= flip;
      expect(encodePageDelta(previous, next).length).toBeLessThanOrEqual(5);
    }),
    { seed: SEED, numRuns: 50 },
  );
});

test('an unchanged page costs one byte and decodes to its previous version itself, a new page to a page of its own', () => {
  fc.assert(
    fc.property(noise, (previous) => {
      const delta = encodePageDelta(previous, previous.slice());
      expect(delta).toEqual(Uint8Array.of(DELTA_ENCODINGS.indexOf('runs')));
      expect(decodePageDelta(previous, delta)).toBe(previous);
      const fresh = decodePageDelta(undefined, delta);
      expect(fresh).toEqual(new Uint8Array(PAGE_SIZE));
      expect(fresh).not.toBe(decodePageDelta(undefined, delta));
    }),
    { seed: SEED, numRuns: 20 },
  );
});

test('cell pointers moved by an insert mid-page cost far less than the page', () => {
  fc.assert(
    fc.property(noise, fc.integer({ min: 8, max: 2000 }), (previous, from) => {
      const next = shifted(previous, from, 2);
      next[from] = 0x0f;
      next[from + 1] = 0xa0;
      expect(encodePageDelta(previous, next).length).toBeLessThan(64);
    }),
    { seed: SEED, numRuns: 30 },
  );
});

test('a dictionary delta of half the runs or less costs one deflate, a page with no previous version one too', () => {
  const counted = (calls: string[]): RawDeflate => ({
    ...zlib,
    deflate: (bytes, dictionary) => {
      calls.push(dictionary === undefined ? 'runs' : 'dictionary');
      return zlib.deflate(bytes, dictionary);
    },
  });
  fc.assert(
    fc.property(noise, fc.integer({ min: 8, max: 2000 }), (previous, from) => {
      // Cell pointers moved by 8 bytes: long XOR runs, a short dictionary delta.
      const next = shifted(previous, from, 8);
      const calls: string[] = [];
      const delta = encodePageDelta(previous, next, counted(calls));
      expect(calls).toEqual(['dictionary']);
      expect(decodePageDelta(previous, delta)).toEqual(next);
      const fresh: string[] = [];
      expect(decodePageDelta(undefined, encodePageDelta(undefined, next, counted(fresh)))).toEqual(next);
      expect(fresh).toEqual(['runs']);
    }),
    { seed: SEED, numRuns: 20 },
  );
});

test('a corrupt, short, overlong or oversized delta is a ProtocolError on both hosts, never a wrong page', () => {
  const previous = new Uint8Array(PAGE_SIZE).fill(3);
  const next = previous.slice();
  next[10] = 4;
  const cases: [string, Uint8Array | undefined, Uint8Array, 'malformed' | 'oversized'][] = [
    ['an unknown encoding', previous, new Uint8Array([DELTA_ENCODINGS.length, 0, 1, 1]), 'malformed'],
    ['an empty delta', previous, new Uint8Array(0), 'malformed'],
    ['a run past the end of the page', previous, new Uint8Array([0, 0xff, 0x1f, 2, 1, 1]), 'malformed'],
    ['a run of length 0', previous, new Uint8Array([0, 1, 0]), 'malformed'],
    ['a run cut short', previous, new Uint8Array([0, 5, 4, 1, 1]), 'malformed'],
    ['a varint cut short', previous, new Uint8Array([0, 0x85]), 'malformed'],
    ['a varint too long', previous, new Uint8Array([0, 0x80, 0x80, 0x80, 0x01, 1, 1]), 'malformed'],
    [
      'deflated runs that are not deflate',
      previous,
      new Uint8Array([1, 0xff, 0xff, 0xff, 0xff]),
      'malformed',
    ],
    [
      'deflated runs that inflate past the bound',
      previous,
      tag(1, zlib.deflate(new Uint8Array(1 << 20))),
      'oversized',
    ],
    [
      'a dictionary page one byte short',
      previous,
      tag(2, zlib.deflate(new Uint8Array(PAGE_SIZE - 1), previous)),
      'malformed',
    ],
    [
      'a dictionary page past PAGE_SIZE',
      previous,
      tag(2, zlib.deflate(new Uint8Array(1 << 20), previous)),
      'oversized',
    ],
    [
      'a dictionary delta reaching into a previous version the receiver does not hold',
      undefined,
      tag(2, zlib.deflate(next, previous)),
      'malformed',
    ],
    [
      'a delta longer than any page compresses to',
      previous,
      new Uint8Array(MAX_DELTA_BYTES + 1),
      'oversized',
    ],
  ];
  const good = encodePageDelta(previous, next);
  // (Cut at 1, only the encoding is left: runs that say nothing changed, a valid delta.)
  for (let cut = 2; cut < good.length; cut++) {
    cases.push([`a delta cut at ${cut}`, previous, good.subarray(0, cut), 'malformed']);
  }
  for (const [what, base, delta, kind] of cases) {
    for (const [host, deflate] of HOSTS) {
      expect(
        refusal(() => decodePageDelta(base, delta, deflate)),
        `${what} on ${host}`,
      ).toBe(kind);
    }
  }
  expect(MAX_RUNS_BYTES).toBeGreaterThan(PAGE_SIZE);
});

function tag(encoding: number, body: Uint8Array): Uint8Array {
  return Uint8Array.of(encoding, ...body);
}

test('a page filled by a split from its sibling costs far less than the page, given the frame’s other pages', () => {
  fc.assert(
    fc.property(noise, noise, (sibling, other) => {
      // The new page holds the upper half of its sibling's cells: no previous version of its own.
      const next = new Uint8Array(PAGE_SIZE);
      next.set(sibling.subarray(PAGE_SIZE / 2), 64);
      const frame = {
        lsn: 0,
        pageCount: 3,
        pages: [
          { pgno: 1, data: other },
          { pgno: 2, data: sibling },
          { pgno: 3, data: next },
        ],
      };
      const wire = encodeWireFrame(frame, [other, sibling, undefined]);
      expect(wire.pages[2]!.delta.length).toBeLessThan(128);
      const base = new Map([
        [1, other],
        [2, sibling],
      ]);
      const decoded = new PageVersions((pgno) => base.get(pgno)).decode(wire);
      expect(decoded.pages.map((p) => Array.from(p.data))).toEqual(
        frame.pages.map((p) => Array.from(p.data)),
      );
    }),
    { seed: SEED, numRuns: 10 },
  );
});

test('frames of 1 to 12 pages, some new, some shifted, decode through PageVersions to their pages', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(fc.option(noise, { nil: undefined }), fc.oneof(page, noise), fc.nat(PAGE_SIZE - 64)),
        {
          minLength: 1,
          maxLength: 12,
        },
      ),
      (specs) => {
        const base = new Map<number, Uint8Array>();
        const pages = specs.map(([previous, other, from], i) => {
          if (previous !== undefined) base.set(i + 1, previous);
          const data = previous !== undefined && from % 2 === 0 ? shifted(previous, from, 2) : other;
          return { pgno: i + 1, data };
        });
        const frame = { lsn: 0, pageCount: pages.length, pages };
        const wire = encodeWireFrame(
          frame,
          pages.map((p) => base.get(p.pgno)),
        );
        const decoded = new PageVersions((pgno) => base.get(pgno)).decode(wire);
        expect(decoded.pages.map((p) => Array.from(p.data))).toEqual(pages.map((p) => Array.from(p.data)));
      },
    ),
    { seed: SEED, numRuns: 40 },
  );
});
