import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { RowSet, Value } from '../value.js';
import {
  type Guest,
  GuestAsciiText,
  GuestText,
  Heap,
  liftOutcomes,
  liftString,
  liftUnitResult,
  liftValueRows,
  liftValues,
  lowerBatch,
  ROW_SET_RESULT,
  SqlTexts,
  storeErr,
  storeOkRowSet,
  storeOkU64,
  storeString,
  storeValues,
  U64_RESULT,
} from './abi.js';
import { ReducerTrap } from './errors.js';

const PAGE = 65536;

/**
 * A guest memory with a bump allocator, as a reducer's cabi_realloc would be. With `growEveryCall`,
 * each allocation grows memory, so every view the host held before it is detached.
 */
function fakeGuest(growEveryCall = false) {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1000 });
  let bump = 1024;
  const calls: [number, number, number, number][] = [];
  const guest: Guest = {
    memory,
    realloc(oldPtr, oldSize, align, size) {
      calls.push([oldPtr, oldSize, align, size]);
      const ptr = Math.ceil(bump / align) * align;
      bump = ptr + size;
      const needed = Math.ceil(bump / PAGE) - memory.buffer.byteLength / PAGE;
      if (needed > 0 || growEveryCall) memory.grow(Math.max(needed, 1));
      return ptr;
    },
  };
  return { guest, heap: new Heap(guest), calls, memory };
}

/** Reserves `size` bytes of scratch for a slot the host writes (a return area, a (ptr, len) pair). */
function slot(heap: Heap, size: number, align = 8): number {
  return heap.alloc(align, size);
}

const valueArb: fc.Arbitrary<Value> = fc.oneof(
  fc.constant<Value>({ tag: 'null' }),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((val): Value => ({ tag: 'integer', val })),
  fc.double().map((val): Value => ({ tag: 'real', val })),
  fc.string({ unit: 'grapheme' }).map((val): Value => ({ tag: 'text', val })),
  fc.uint8Array({ maxLength: 64 }).map((val): Value => ({ tag: 'blob', val })),
);

/** Equality that tells -0 from 0 and NaN from NaN (toEqual does the first only with Object.is). */
function sameValues(a: readonly Value[], b: readonly Value[]): boolean {
  return (
    a.length === b.length &&
    a.every((x, i) => {
      const y = b[i]!;
      if (x.tag !== y.tag) return false;
      if (x.tag === 'null') return true;
      if (x.tag === 'blob')
        return y.tag === 'blob' && x.val.length === y.val.length && x.val.every((v, j) => v === y.val[j]);
      return Object.is(x.val, (y as { val: unknown }).val);
    })
  );
}

function trapOf(fn: () => unknown): ReducerTrap {
  try {
    fn();
  } catch (error) {
    if (error instanceof ReducerTrap) return error;
    throw error;
  }
  throw new Error('expected a ReducerTrap');
}

describe('values round-trip', () => {
  test('any list of values lowered and lifted back is the same list', () => {
    const seed = 0xab1;
    fc.assert(
      fc.property(fc.array(valueArb, { maxLength: 20 }), fc.boolean(), (values, grow) => {
        const { heap } = fakeGuest(grow);
        const at = slot(heap, 8);
        storeValues(heap, at, values);
        const lifted = liftValues(heap, heap.dv.getUint32(at, true), heap.dv.getUint32(at + 4, true));
        if (!sameValues(values, lifted))
          throw new Error(
            `seed ${seed}: ${JSON.stringify(lifted, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))}`,
          );
      }),
      { seed, numRuns: 300 },
    );
  });

  test('the edge values survive exactly: i64 extremes, 2.0, -0.0, 1e300, NaN, unicode, empty text and blob', () => {
    const values: Value[] = [
      { tag: 'integer', val: -(2n ** 63n) },
      { tag: 'integer', val: 2n ** 63n - 1n },
      { tag: 'integer', val: 0n },
      { tag: 'real', val: 2.0 },
      { tag: 'real', val: -0 },
      { tag: 'real', val: 1e300 },
      { tag: 'real', val: Number.NaN },
      { tag: 'text', val: 'é 🌍 \u0000 ∑' },
      { tag: 'text', val: '' },
      { tag: 'blob', val: new Uint8Array([0, 255, 1]) },
      { tag: 'blob', val: new Uint8Array(0) },
      { tag: 'null' },
    ];
    const { heap } = fakeGuest(true);
    const at = slot(heap, 8);
    storeValues(heap, at, values);
    expect(
      sameValues(values, liftValues(heap, heap.dv.getUint32(at, true), heap.dv.getUint32(at + 4, true))),
    ).toBe(true);
  });

  test('a value is 16 bytes aligned to 8, its case at 0 and its payload at 8', () => {
    const { heap } = fakeGuest();
    const at = slot(heap, 8);
    storeValues(heap, at, [
      { tag: 'integer', val: -2n },
      { tag: 'real', val: 1.5 },
      { tag: 'text', val: 'hi' },
    ]);
    const ptr = heap.dv.getUint32(at, true);
    expect(ptr % 8).toBe(0);
    expect(heap.dv.getUint32(at + 4, true)).toBe(3);
    expect([heap.u8[ptr], heap.dv.getBigInt64(ptr + 8, true)]).toEqual([1, -2n]);
    expect([heap.u8[ptr + 16], heap.dv.getFloat64(ptr + 24, true)]).toEqual([2, 1.5]);
    const textPtr = heap.dv.getUint32(ptr + 40, true);
    expect([
      heap.u8[ptr + 32],
      heap.dv.getUint32(ptr + 44, true),
      [...heap.u8.subarray(textPtr, textPtr + 2)],
    ]).toEqual([3, 2, [0x68, 0x69]]);
  });

  test('empty strings and lists are (align, 0) and never call realloc', () => {
    const { heap, calls } = fakeGuest();
    const at = slot(heap, 24);
    calls.length = 0;
    storeString(heap, at, '');
    storeValues(heap, at + 8, []);
    storeValues(heap, at + 16, [{ tag: 'blob', val: new Uint8Array(0) }]);
    expect(calls).toEqual([[0, 0, 8, 16]]);
    expect([heap.dv.getUint32(at, true), heap.dv.getUint32(at + 4, true)]).toEqual([1, 0]);
    expect([heap.dv.getUint32(at + 8, true), heap.dv.getUint32(at + 12, true)]).toEqual([8, 0]);
    expect(liftValues(heap, 8, 0)).toEqual([]);
    expect(liftString(heap, 1, 0)).toBe('');
  });

  test('rows of parameter lists lift as lists of lists', () => {
    const rows: Value[][] = [[], [{ tag: 'integer', val: 7n }], [{ tag: 'text', val: 'x' }, { tag: 'null' }]];
    const { heap } = fakeGuest(true);
    const list = heap.alloc(4, rows.length * 8);
    for (const [i, row] of rows.entries()) storeValues(heap, list + i * 8, row);
    expect(liftValueRows(heap, list, rows.length)).toEqual(rows);
  });
});

describe('text lifted from the guest', () => {
  test('carries the UTF-8 it was decoded from, less the leading byte order mark the decoder drops', () => {
    const seed = 0x7e47;
    const encoder = new TextEncoder();
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.nat(2), (text, boms) => {
        const { heap } = fakeGuest();
        const bytes = encoder.encode('\ufeff'.repeat(boms) + text);
        const ptr = heap.alloc(1, bytes.length);
        heap.u8.set(bytes, ptr);
        const list = heap.alloc(8, 16);
        heap.dv.setUint8(list, 3);
        heap.dv.setUint32(list + 8, ptr, true);
        heap.dv.setUint32(list + 12, bytes.length, true);
        const [value] = liftValues(heap, list, 1);
        if (!(value instanceof GuestText)) throw new Error(`seed ${seed}: not a GuestText`);
        // The string is what a fatal TextDecoder gives; its UTF-8 is exactly the bytes kept.
        expect(value.val).toBe(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
        expect([...value.utf8]).toEqual([...encoder.encode(value.val)]);
      }),
      { seed, numRuns: 200 },
    );
  });
});

describe('text lifted for a host that reads it during the call', () => {
  test('is the same string and bytes as any lifted text, made lazily only when it is all ASCII, at any alignment', () => {
    const seed = 0xa5c1;
    const encoder = new TextEncoder();
    const text = fc.oneof(
      fc.string({
        unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)),
        maxLength: 40,
      }),
      fc.string({ unit: 'grapheme', maxLength: 20 }),
      fc.string({ maxLength: 20 }).map((t) => `\ufeff${t}`),
    );
    fc.assert(
      fc.property(fc.array(text, { maxLength: 6 }), fc.nat(7), (texts, shift) => {
        const { heap } = fakeGuest();
        const list = heap.alloc(8, 16 * texts.length);
        let at = heap.alloc(1, 8 + texts.reduce((n, t) => n + encoder.encode(t).length, 0)) + shift;
        texts.forEach((t, i) => {
          const bytes = encoder.encode(t);
          heap.u8.set(bytes, at);
          heap.dv.setUint8(list + 16 * i, 3);
          heap.dv.setUint32(list + 16 * i + 8, at, true);
          heap.dv.setUint32(list + 16 * i + 12, bytes.length, true);
          at += bytes.length;
        });
        const eager = liftValues(heap, list, texts.length);
        const lazy = liftValues(heap, list, texts.length, true);
        lazy.forEach((value, i) => {
          const other = eager[i];
          if (!(other instanceof GuestText) || value.tag !== 'text')
            throw new Error(`seed ${seed}: not text`);
          const ascii =
            [...other.utf8].every((b) => b < 0x80) && other.utf8.length === encoder.encode(texts[i]).length;
          expect(value instanceof GuestAsciiText).toBe(ascii);
          if (!(value instanceof GuestAsciiText) && !(value instanceof GuestText))
            throw new Error('no bytes');
          expect([...value.utf8]).toEqual([...other.utf8]);
          expect(value.val).toBe(other.val);
        });
      }),
      { seed, numRuns: 200 },
    );
  });

  test('still traps on bytes that are not UTF-8', () => {
    const { heap } = fakeGuest();
    const bytes = heap.alloc(1, 4);
    heap.u8.set([0x61, 0xc3, 0x28, 0x62], bytes);
    const list = heap.alloc(8, 16);
    heap.dv.setUint8(list, 3);
    heap.dv.setUint32(list + 8, bytes, true);
    heap.dv.setUint32(list + 12, 4, true);
    expect(trapOf(() => liftValues(heap, list, 1, true)).message).toBe(
      `a text value at ${bytes} is not valid UTF-8`,
    );
  });
});

describe('SQL lifted again', () => {
  test('is always the text of the bytes passed now, whatever was lifted before from the same place or near it', () => {
    const seed = 0x5417;
    // Statements alike in length and in their first, middle and last bytes, and the empty one.
    const texts = [
      'SELECT 1',
      'SELECT 2',
      'SEL€CT 1',
      'SELXCT 1',
      'SELECT  ',
      '',
      'INSERT INTO t VALUES (?)',
      // Alike in length, first, middle and last byte: only words past the first tell them apart.
      'SELECT x1 FROM t WHERE 1',
      'SELECT x2 FROM t WHERE 1',
    ];
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...texts), fc.nat(3)), { minLength: 1, maxLength: 30 }),
        (sequence) => {
          const { heap } = fakeGuest();
          const lifter = new SqlTexts();
          const base = heap.alloc(4, 64);
          for (const [text, shift] of sequence) {
            // Aligned (compared a word at a time) or not.
            const at = base + shift;
            const bytes = new TextEncoder().encode(text);
            heap.u8.set(bytes, at);
            if (lifter.lift(heap, at, bytes.length) !== text)
              throw new Error(`seed ${seed}: lifted another text`);
          }
        },
      ),
      { seed, numRuns: 200 },
    );
  });

  test('traps on bytes that are not UTF-8 or lie outside memory, even after lifting them fine elsewhere', () => {
    const { heap } = fakeGuest();
    const lifter = new SqlTexts();
    const at = heap.alloc(1, 8);
    heap.u8.set([0x61, 0x62, 0x63], at);
    expect(lifter.lift(heap, at, 3)).toBe('abc');
    heap.u8.set([0x61, 0xff, 0x63], at);
    expect(trapOf(() => lifter.lift(heap, at, 3)).message).toBe(`the SQL at ${at} is not valid UTF-8`);
    expect(trapOf(() => lifter.lift(heap, heap.u8.length - 1, 3)).message).toMatch(
      /^the SQL at \d+ \(3 bytes\) ends past/,
    );
  });
});

describe('results the host writes', () => {
  test('ok(u64) writes the case at 0 and the count at 8, wrapping to 64 bits', () => {
    const { heap } = fakeGuest();
    const ret = slot(heap, 16);
    storeOkU64(heap, ret, 2n ** 64n - 1n);
    expect([heap.u8[ret], heap.dv.getBigUint64(ret + 8, true)]).toEqual([0, 2n ** 64n - 1n]);
  });

  test('err(sql-error) writes the case at 0, the s32 code at the payload offset and the message after it', () => {
    const { heap } = fakeGuest(true);
    const u64 = slot(heap, 24);
    const rowSet = slot(heap, 20, 4);
    storeErr(heap, u64, U64_RESULT, 1555, 'bad');
    storeErr(heap, rowSet, ROW_SET_RESULT, -1, 'wörse');
    expect([heap.u8[u64], heap.dv.getInt32(u64 + 8, true)]).toEqual([1, 1555]);
    expect(liftString(heap, heap.dv.getUint32(u64 + 12, true), heap.dv.getUint32(u64 + 16, true))).toBe(
      'bad',
    );
    expect([heap.u8[rowSet], heap.dv.getInt32(rowSet + 4, true)]).toEqual([1, -1]);
    expect(liftString(heap, heap.dv.getUint32(rowSet + 8, true), heap.dv.getUint32(rowSet + 12, true))).toBe(
      'wörse',
    );
  });

  test('a result<u64, sql-error> return area is 24 bytes: one of 16 traps', () => {
    const { heap } = fakeGuest();
    expect(trapOf(() => storeOkU64(heap, PAGE - 16, 1n)).message).toContain('past the end of memory');
  });

  test('ok(row-set) lowers columns at 4 and rows at 12', () => {
    const rowSet: RowSet = {
      columns: ['a', 'ü'],
      rows: [
        [
          { tag: 'integer', val: 1n },
          { tag: 'text', val: 'one' },
        ],
        [
          { tag: 'real', val: -0 },
          { tag: 'blob', val: new Uint8Array([9]) },
        ],
      ],
    };
    const { heap } = fakeGuest(true);
    const ret = slot(heap, 20, 4);
    storeOkRowSet(heap, ret, rowSet);
    expect(heap.u8[ret]).toBe(0);
    const columnsPtr = heap.dv.getUint32(ret + 4, true);
    const columns = Array.from({ length: heap.dv.getUint32(ret + 8, true) }, (_, i) =>
      liftString(
        heap,
        heap.dv.getUint32(columnsPtr + i * 8, true),
        heap.dv.getUint32(columnsPtr + i * 8 + 4, true),
      ),
    );
    const rows = liftValueRows(heap, heap.dv.getUint32(ret + 12, true), heap.dv.getUint32(ret + 16, true));
    expect(columns).toEqual(rowSet.columns);
    expect(rows).toEqual(rowSet.rows);
    expect(Object.is((rows[1]![0] as { val: number }).val, -0)).toBe(true);
  });

  test('a return area that is misaligned or outside memory traps', () => {
    const { heap } = fakeGuest();
    expect(trapOf(() => storeOkU64(heap, 1028, 1n)).message).toContain('not aligned to 8');
    expect(trapOf(() => storeOkU64(heap, PAGE - 8, 1n)).message).toContain('past the end of memory');
    expect(trapOf(() => storeErr(heap, -4, ROW_SET_RESULT, 1, 'x')).message).toContain('at 4294967292');
  });
});

describe('the batch and the outcomes', () => {
  test('a mutation is 32 bytes aligned to 8: timeline-id 0, lsn 8, timestamp 16, payload 24', () => {
    const { heap } = fakeGuest(true);
    const batch = [
      {
        timelineId: 'tl-ü',
        lsn: Number.MAX_SAFE_INTEGER,
        timestamp: 1_700_000_000_123,
        payload: new Uint8Array([1, 2, 3]),
      },
      { timelineId: '', lsn: 0, timestamp: 0, payload: new Uint8Array(0) },
    ];
    const ptr = lowerBatch(heap, batch);
    expect(ptr % 8).toBe(0);
    batch.forEach((m, i) => {
      const at = ptr + i * 32;
      expect(liftString(heap, heap.dv.getUint32(at, true), heap.dv.getUint32(at + 4, true))).toBe(
        m.timelineId,
      );
      expect(heap.dv.getBigUint64(at + 8, true)).toBe(BigInt(m.lsn));
      expect(heap.dv.getBigUint64(at + 16, true)).toBe(BigInt(m.timestamp));
      const payload = heap.dv.getUint32(at + 24, true);
      expect([...heap.u8.subarray(payload, payload + heap.dv.getUint32(at + 28, true))]).toEqual([
        ...m.payload,
      ]);
    });
  });

  test('any batch lowers each envelope exactly: timelines in runs or mixed, safe integers of any size', () => {
    const seed = 0xba7c;
    const envelope = fc.record({
      timelineId: fc.constantFrom('a', 'b', 'tl-ü', ''),
      lsn: fc.oneof(
        fc.nat(),
        fc.constant(Number.MAX_SAFE_INTEGER),
        fc.integer({ min: 2 ** 32 - 2, max: 2 ** 32 + 2 }),
      ),
      timestamp: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      payload: fc.uint8Array({ maxLength: 16 }),
    });
    fc.assert(
      fc.property(fc.array(envelope, { maxLength: 12 }), fc.boolean(), (batch, grow) => {
        const { heap } = fakeGuest(grow);
        const ptr = lowerBatch(heap, batch);
        batch.forEach((m, i) => {
          const at = ptr + i * 32;
          const id = liftString(heap, heap.dv.getUint32(at, true), heap.dv.getUint32(at + 4, true));
          const payload = heap.dv.getUint32(at + 24, true);
          const lifted = {
            timelineId: id,
            lsn: Number(heap.dv.getBigUint64(at + 8, true)),
            timestamp: Number(heap.dv.getBigUint64(at + 16, true)),
            payload: heap.u8.slice(payload, payload + heap.dv.getUint32(at + 28, true)),
          };
          if (
            JSON.stringify({ ...lifted, payload: [...lifted.payload] }) !==
            JSON.stringify({ ...m, payload: [...m.payload] })
          )
            throw new Error(`seed ${seed}: mutation ${i} lowered as ${JSON.stringify(lifted)}`);
        });
      }),
      { seed, numRuns: 200 },
    );
  });

  /** Writes a list<result<_, string>> as a guest would and returns its return area. */
  function guestOutcomes(heap: Heap, outcomes: readonly (string | null)[]): number {
    const list = heap.alloc(4, outcomes.length * 12);
    outcomes.forEach((reason, i) => {
      heap.dv.setUint8(list + i * 12, reason === null ? 0 : 1);
      if (reason !== null) storeString(heap, list + i * 12 + 4, reason);
    });
    const ret = heap.alloc(4, 8);
    heap.dv.setUint32(ret, list, true);
    heap.dv.setUint32(ret + 4, outcomes.length, true);
    return ret;
  }

  test('outcomes lift as ok or the rejection reason, in order', () => {
    const { heap } = fakeGuest();
    const ret = guestOutcomes(heap, [null, 'no such todo', null, '']);
    expect(liftOutcomes(heap, ret)).toEqual([
      { ok: true },
      { ok: false, reason: 'no such todo' },
      { ok: true },
      { ok: false, reason: '' },
    ]);
  });

  test('an outcome with a case other than ok or err traps', () => {
    const { heap } = fakeGuest();
    const ret = guestOutcomes(heap, [null, null]);
    heap.u8[heap.dv.getUint32(ret, true) + 12] = 2;
    expect(trapOf(() => liftOutcomes(heap, ret)).message).toContain('has case 2; result has 2 cases');
  });

  test('a reason that is not UTF-8 traps', () => {
    const { heap } = fakeGuest();
    const ret = guestOutcomes(heap, ['ab']);
    const reason = heap.dv.getUint32(heap.dv.getUint32(ret, true) + 4, true);
    heap.u8[reason] = 0xff;
    expect(trapOf(() => liftOutcomes(heap, ret)).message).toContain('not valid UTF-8');
  });

  test('a length that runs past memory traps, however large', () => {
    const { heap } = fakeGuest();
    const ret = guestOutcomes(heap, [null]);
    heap.dv.setUint32(ret + 4, 0xffff_ffff, true);
    expect(trapOf(() => liftOutcomes(heap, ret)).message).toContain('ends past the end of memory');
    expect(trapOf(() => liftUnitResult(heap, PAGE - 4, 'migrate')).message).toContain('past the end');
    expect(trapOf(() => liftValues(heap, 1028, 1)).message).toContain('not aligned to 8');
  });
});

describe('the allocator', () => {
  test('a realloc answer that is misaligned or outside memory traps', () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const misaligned = new Heap({ memory, realloc: () => 1027 });
    expect(trapOf(() => misaligned.alloc(4, 8)).message).toContain('not aligned to 4');
    const outside = new Heap({ memory, realloc: () => PAGE - 4 });
    expect(trapOf(() => outside.alloc(4, 8)).message).toContain('past the end of memory');
  });
});
