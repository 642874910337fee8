import { expect, test } from 'vitest';
import { encodeMutation, TimelineCodecError } from '../timeline-codec.js';
import { MemoryByteStore } from './memory-byte-store.js';
import { RecordType } from './record.js';
import { RecoveredMutations } from './recovered-mutations.js';
import { encodeEntry, recoverEntries } from './segment-log.js';

const FILE = 'timeline.0000000000000000.00000001.log';
const mutation = (lsn: number) => ({
  timelineId: 'tl',
  lsn,
  timestamp: 1000 + lsn,
  payload: new TextEncoder().encode(`m${lsn}`),
});

async function recovered(records: readonly Uint8Array[]) {
  const store = new MemoryByteStore();
  for (const record of records) await store.append(FILE, record);
  return (await recoverEntries(store, await store.list(), 'timeline', RecordType.mutation)).entries;
}

test('recovered mutations decode when asked to the envelopes the timeline was written with, a suffix from any lsn', async () => {
  const written = [3, 4, 5, 6].map(mutation);
  const entries = await recovered(
    written.map((m) => encodeEntry(m.lsn, encodeMutation(m), RecordType.mutation)),
  );
  const pending = RecoveredMutations.read(entries);
  expect(pending.length).toBe(4);
  expect(pending.lastLsn).toBe(6);
  expect([...pending.timelineIds]).toEqual(['tl']);
  expect(pending.decode()).toEqual(written);
  expect(pending.above(4).decode()).toEqual(written.slice(2));
  expect(pending.above(6).length).toBe(0);
  expect(pending.above(6).lastLsn).toBeUndefined();
});

test('a whole record whose envelope is malformed, or carries another lsn than its entry, stops the read at once, not at the decode', async () => {
  const good = encodeEntry(0, encodeMutation(mutation(0)), RecordType.mutation);
  // CRC-correct records: only the envelope inside is wrong.
  const truncated = encodeEntry(1, encodeMutation(mutation(1)).subarray(0, 12), RecordType.mutation);
  const malformed = await recovered([good, truncated]);
  expect(malformed.length).toBe(2);
  expect(() => RecoveredMutations.read(malformed)).toThrow(TimelineCodecError);
  const moved = encodeEntry(1, encodeMutation(mutation(7)), RecordType.mutation);
  const elsewhere = await recovered([good, moved]);
  expect(() => RecoveredMutations.read(elsewhere)).toThrow(/entry 1 holds mutation 7/);
});
