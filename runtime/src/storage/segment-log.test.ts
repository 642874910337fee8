import { expect, test } from 'vitest';
import { concatBytes } from '../bytes.js';
import { sha256Hex } from '../sha256.js';
import { formatFileName } from './file-names.js';
import { MemoryByteStore } from './memory-byte-store.js';
import { encodeRecord, RecordType } from './record.js';
import { type RecoveredLog, recoverEntries, SegmentLog } from './segment-log.js';

function entry(lsn: number, text: string): Uint8Array {
  const body = new Uint8Array(8 + text.length);
  new DataView(body.buffer).setUint32(0, lsn, true);
  body.set(new TextEncoder().encode(text), 8);
  return encodeRecord(RecordType.frame, body);
}

const name = (lsn: number, generation: number) =>
  formatFileName({ kind: 'frames', lsn, generation, ext: 'log' });
const text = (payload: Uint8Array) => new TextDecoder().decode(payload);

test('entries an older generation holds past where a newer one started are stale and never recovered', async () => {
  const store = new MemoryByteStore();
  for (const lsn of [0, 1, 2]) await store.append(name(0, 1), entry(lsn, `old ${lsn}`));
  for (const lsn of [3, 4, 5]) await store.append(name(3, 1), entry(lsn, `old ${lsn}`));
  for (const lsn of [3, 4]) await store.append(name(3, 2), entry(lsn, `new ${lsn}`));
  const recovered = await recoverEntries(store, await store.list(), 'frames', RecordType.frame);
  expect(recovered.entries.toArray().map((e) => `${e.lsn}: ${text(e.payload)}`)).toEqual([
    '0: old 0',
    '1: old 1',
    '2: old 2',
    '3: new 3',
    '4: new 4',
  ]);
  expect(recovered.garbage).toEqual([name(3, 1)]);
});

test('recovery from a given lsn stops at the first gap and at the first corrupt record', async () => {
  const store = new MemoryByteStore();
  await store.append(name(0, 1), entry(0, 'a'));
  const corrupt = entry(1, 'b');
  corrupt[10] = corrupt[10]! ^ 1;
  await store.append(name(0, 1), corrupt);
  await store.append(name(0, 1), entry(2, 'c'));
  await store.append(name(5, 1), entry(5, 'f'));
  const recovered = await recoverEntries(store, await store.list(), 'frames', RecordType.frame, 0);
  expect(recovered.entries.toArray().map((e) => e.lsn)).toEqual([0]);
});

test('overlapping flushes share syncs (group commit) and each resolves only once its entries are durable', async () => {
  const store = new MemoryByteStore();
  let syncs = 0;
  const sync = store.sync.bind(store);
  store.sync = async (file) => {
    syncs++;
    await sync(file);
  };
  const recovered = await recoverEntries(store, [], 'frames', RecordType.frame);
  const log = new SegmentLog(
    store,
    { kind: 'frames', type: RecordType.frame, generation: 1, segmentBytes: 1 << 20 },
    recovered,
    0,
  );
  const flushes: Promise<void>[] = [];
  for (let lsn = 0; lsn < 100; lsn++) {
    log.append(lsn, new Uint8Array([lsn]));
    flushes.push(log.flush());
  }
  await Promise.all(flushes);
  expect(syncs).toBeLessThanOrEqual(2);
  const image = store.crashImage({ keepUnsynced: false });
  const after = await recoverEntries(image, await image.list(), 'frames', RecordType.frame);
  expect(after.entries.toArray().map((e) => e.lsn)).toEqual([...Array(100).keys()]);
});

test('an append with the wrong lsn is refused', async () => {
  const store = new MemoryByteStore();
  const recovered = await recoverEntries(store, [], 'frames', RecordType.frame);
  const log = new SegmentLog(
    store,
    { kind: 'frames', type: RecordType.frame, generation: 1, segmentBytes: 1 << 20 },
    recovered,
    4,
  );
  expect(() => log.append(5, new Uint8Array(0))).toThrow(/expects lsn 4/);
  log.append(4, new Uint8Array(0));
  await log.flush();
});

test('without a starting point, recovery takes the run that ends at the newest entry, never a truncated one a crash brought back', async () => {
  const store = new MemoryByteStore();
  for (const lsn of [0, 1, 2]) await store.append(name(0, 1), entry(lsn, `truncated ${lsn}`));
  for (const lsn of [5, 6]) await store.append(name(5, 1), entry(lsn, `pending ${lsn}`));
  const recovered = await recoverEntries(store, await store.list(), 'frames', RecordType.frame);
  expect(recovered.entries.toArray().map((e) => text(e.payload))).toEqual(['pending 5', 'pending 6']);
  expect(recovered.garbage).toEqual([name(0, 1)]);
});

test('records checked by a digest instead of their CRCs recover exactly as checking every CRC does, whatever byte is damaged', async () => {
  const records = [0, 1, 2, 3, 4, 5].map((lsn) => entry(lsn, `entry ${lsn}`));
  const file = concatBytes(records);
  // The run of lsns 2..4, as a persisted overlay records what it covers.
  const runStart = records[0]!.length + records[1]!.length;
  const runEnd = runStart + records[2]!.length + records[3]!.length + records[4]!.length;
  const digest = await sha256Hex([file.subarray(runStart, runEnd)]);
  const run = { fromLsn: 2, count: 3, digest };
  const recover = async (bytes: Uint8Array, digested?: typeof run) => {
    const store = new MemoryByteStore();
    await store.append(name(0, 1), bytes);
    return recoverEntries(store, await store.list(), 'frames', RecordType.frame, undefined, digested);
  };
  const seen = (log: RecoveredLog) => ({
    entries: log.entries.toArray().map((e) => `${e.lsn}: ${text(e.payload)}`),
    files: log.files,
    garbage: log.garbage,
  });
  const whole = await recover(file, run);
  expect(whole.digested?.digest).toBe(digest);
  expect(seen(whole)).toEqual(seen(await recover(file)));
  for (let at = 0; at < file.length; at++) {
    for (const flip of [0x01, 0x80]) {
      const damaged = file.slice();
      damaged[at] = damaged[at]! ^ flip;
      const checked = await recover(damaged, run);
      expect(seen(checked), `byte ${at} ^ ${flip}`).toEqual(seen(await recover(damaged)));
      // A damaged run is never taken on its digest: its CRCs are checked, and stop at the damage.
      if (at >= runStart && at < runEnd) expect(checked.digested, `byte ${at}`).toBeUndefined();
      expect(checked.entries.length, `byte ${at}`).toBeLessThanOrEqual(at < runEnd ? 5 : 6);
    }
  }
  // A digest that is not the run's: every CRC is checked.
  const other = await recover(file, { ...run, digest: await sha256Hex([file]) });
  expect(other.digested).toBeUndefined();
  expect(seen(other)).toEqual(seen(whole));
});
