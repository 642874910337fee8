import fc from 'fast-check';
import { expect, test } from 'vitest';
import { crc32c } from './crc32c.js';
import {
  decodeRecords,
  encodeRecord,
  type JournalRecord,
  MAX_RECORD_PAYLOAD,
  RECORD_OVERHEAD,
  RecordType,
} from './record.js';

const SEED = Number(process.env.FC_SEED ?? 20261129);

const record: fc.Arbitrary<JournalRecord> = fc.record({
  type: fc.constantFrom(...Object.values(RecordType)),
  payload: fc.uint8Array({ maxLength: 48 }),
});
const records = fc.array(record, { maxLength: 8 });

function encodeAll(list: readonly JournalRecord[]): { bytes: Uint8Array; ends: number[] } {
  const encoded = list.map((r) => encodeRecord(r.type, r.payload));
  const bytes = new Uint8Array(encoded.reduce((total, e) => total + e.length, 0));
  const ends: number[] = [];
  let offset = 0;
  for (const e of encoded) {
    bytes.set(e, offset);
    offset += e.length;
    ends.push(offset);
  }
  return { bytes, ends };
}

/** Records as plain values, so a payload view and a copy of the same bytes compare equal. */
const plain = (list: readonly JournalRecord[]) =>
  list.map((r) => ({ type: r.type, payload: [...r.payload] }));

test('the checksum is CRC-32C (its check value over "123456789" is 0xe3069283)', () => {
  expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
  expect(crc32c(new TextEncoder().encode('56789'), crc32c(new TextEncoder().encode('1234')))).toBe(
    0xe3069283,
  );
});

test('a record is its length (u32 LE), type, payload and CRC-32C (u32 LE) of all before it', () => {
  const bytes = encodeRecord(RecordType.mutation, new Uint8Array([0xaa, 0xbb, 0xcc]));
  const view = new DataView(bytes.buffer);
  expect(bytes.length).toBe(RECORD_OVERHEAD + 3);
  expect([...bytes.subarray(0, 8)]).toEqual([3, 0, 0, 0, RecordType.mutation, 0xaa, 0xbb, 0xcc]);
  expect(view.getUint32(8, true)).toBe(crc32c(bytes.subarray(0, 8)));
});

test('a sequence of records decodes to itself, with no tail', () => {
  fc.assert(
    fc.property(records, (list) => {
      const { bytes } = encodeAll(list);
      const decoded = decodeRecords(bytes);
      expect(plain(decoded.records)).toEqual(plain(list));
      expect(decoded.validBytes).toBe(bytes.length);
      expect(decoded.tailBytes).toBe(0);
    }),
    { seed: SEED, numRuns: 300 },
  );
});

test('records decode from a view into a larger buffer', () => {
  const { bytes } = encodeAll([{ type: RecordType.frame, payload: new Uint8Array([1, 2]) }]);
  const larger = new Uint8Array(bytes.length + 7);
  larger.set(bytes, 3);
  const decoded = decodeRecords(larger.subarray(3, 3 + bytes.length));
  expect(plain(decoded.records)).toEqual([{ type: RecordType.frame, payload: [1, 2] }]);
});

test('bytes cut at any point decode to exactly the whole records before the cut, the rest being tail', () => {
  fc.assert(
    fc.property(records, (list) => {
      const { bytes, ends } = encodeAll(list);
      for (let cut = 0; cut <= bytes.length; cut++) {
        const whole = ends.filter((end) => end <= cut).length;
        const valid = whole === 0 ? 0 : ends[whole - 1]!;
        const decoded = decodeRecords(bytes.subarray(0, cut));
        expect(plain(decoded.records)).toEqual(plain(list.slice(0, whole)));
        expect([decoded.validBytes, decoded.tailBytes]).toEqual([valid, cut - valid]);
      }
    }),
    { seed: SEED, numRuns: 200 },
  );
});

test('a changed byte drops the record it is in and everything after, and never alters a record', () => {
  fc.assert(
    fc.property(
      records.filter((list) => list.length > 0),
      fc.nat(),
      fc.integer({ min: 1, max: 255 }),
      (list, at, mask) => {
        const { bytes, ends } = encodeAll(list);
        const position = at % bytes.length;
        const corrupted = bytes.slice();
        corrupted[position]! ^= mask;
        const hit = ends.findIndex((end) => position < end);
        const valid = hit === 0 ? 0 : ends[hit - 1]!;
        const decoded = decodeRecords(corrupted);
        expect(plain(decoded.records)).toEqual(plain(list.slice(0, hit)));
        expect([decoded.validBytes, decoded.tailBytes]).toEqual([valid, bytes.length - valid]);
      },
    ),
    { seed: SEED, numRuns: 2000 },
  );
});

test('an unknown type or an oversized length ends the records, without allocating for the length', () => {
  const good = encodeRecord(RecordType.frame, new Uint8Array([1]));
  const unknown = encodeRecord(RecordType.frame, new Uint8Array([2]));
  unknown[4] = 0;
  const oversized = new Uint8Array(RECORD_OVERHEAD);
  new DataView(oversized.buffer).setUint32(0, 0xffffffff, true);
  oversized[4] = RecordType.frame;
  for (const bad of [unknown, oversized]) {
    const decoded = decodeRecords(new Uint8Array([...good, ...bad, ...good]));
    expect(plain(decoded.records)).toEqual([{ type: RecordType.frame, payload: [1] }]);
    expect(decoded.tailBytes).toBe(bad.length + good.length);
  }
});

test('a payload beyond MAX_RECORD_PAYLOAD is refused when encoding', () => {
  expect(() => encodeRecord(RecordType.imagePages, new Uint8Array(MAX_RECORD_PAYLOAD + 1))).toThrow(
    RangeError,
  );
  expect(encodeRecord(RecordType.imagePages, new Uint8Array(MAX_RECORD_PAYLOAD)).length).toBe(
    MAX_RECORD_PAYLOAD + RECORD_OVERHEAD,
  );
});
