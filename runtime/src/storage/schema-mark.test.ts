import { expect, test } from 'vitest';
import { sha256Hex } from '../sha256.js';
import { parseFileName } from './file-names.js';
import { MemoryByteStore } from './memory-byte-store.js';
import { decodeRecords, encodeRecord, RecordType } from './record.js';
import { type MarkedReducer, raiseSchemaMark, readMarkedReducer, readSchemaMark } from './schema-mark.js';

const marks = async (store: MemoryByteStore) =>
  (await store.list()).filter((file) => parseFileName(file)?.kind === 'schema');

test('a schema mark only grows, and one file holds it', async () => {
  const store = new MemoryByteStore();
  expect(await readSchemaMark(store, await store.list())).toBe(0);
  await raiseSchemaMark(store, 0, 2);
  expect(await readSchemaMark(store, await store.list())).toBe(2);
  await raiseSchemaMark(store, 2, 1);
  await raiseSchemaMark(store, 2, 2);
  expect(await readSchemaMark(store, await store.list())).toBe(2);
  await raiseSchemaMark(store, 2, 3);
  expect(await readSchemaMark(store, await store.list())).toBe(3);
  expect(await marks(store)).toHaveLength(1);
});

test('a damaged schema mark reads as no mark, and the next raise replaces it', async () => {
  const store = new MemoryByteStore();
  await raiseSchemaMark(store, 0, 2);
  const [file] = await marks(store);
  const bytes = (await store.read(file!))!;
  for (let at = 0; at < bytes.length; at++) {
    const damaged = bytes.slice();
    damaged[at] = damaged[at]! ^ 0x5a;
    await store.delete(file!);
    await store.append(file!, damaged);
    const read = await readSchemaMark(store, await store.list());
    // A flipped byte of the JSON's digits can still parse; the record's checksum is what refuses it.
    expect(read, `byte ${at}`).toBe(0);
  }
  await raiseSchemaMark(store, 0, 2);
  expect(await readSchemaMark(store, await store.list())).toBe(2);
  expect(await marks(store)).toHaveLength(1);
});

/** A prepared reducer's stand-in: bytes whose SHA-256 the reader checks. */
async function keptReducer(schemaVersion: number, length = 3000): Promise<MarkedReducer> {
  const bytes = Uint8Array.from({ length }, (_, i) => (i * 31 + schemaVersion) & 0xff);
  return { sha256: await sha256Hex([bytes]), schemaVersion, bytes };
}

const kept = async (store: MemoryByteStore) =>
  (await store.list()).filter((file) => parseFileName(file)?.kind === 'reducer');

test('a mark raised by a move keeps that reducer beside it, written before the mark; only the newest is kept', async () => {
  const store = new MemoryByteStore();
  const two = await keptReducer(2);
  await raiseSchemaMark(store, 0, 2, two);
  expect(await readMarkedReducer(store, await store.list(), 2)).toEqual(two);
  // A crash after the reducer was synced, before the mark: the old mark stands, nothing refers to it.
  const crashed = new MemoryByteStore();
  const writes: string[] = [];
  const recording = Object.assign(Object.create(crashed) as MemoryByteStore, {
    append: async (name: string, bytes: Uint8Array) => {
      writes.push(name.split('.')[0]!);
      await crashed.append(name, bytes);
    },
  });
  await raiseSchemaMark(recording, 0, 3, await keptReducer(3));
  expect(writes).toEqual(['reducer', 'schema']);
  const three = await keptReducer(3);
  await raiseSchemaMark(store, 2, 3, three);
  expect(await kept(store)).toHaveLength(1);
  expect(await readMarkedReducer(store, await store.list(), 3)).toEqual(three);
  // A version the kept reducer is below: none.
  expect(await readMarkedReducer(store, await store.list(), 4)).toBeUndefined();
  // A raise without a reducer (the app's own is newer) drops the one kept: it is older than the mark.
  await raiseSchemaMark(store, 3, 4);
  expect(await kept(store)).toHaveLength(0);
});

test('a kept reducer damaged at any byte reads as damaged, with its checksum intact or not: its bytes are never handed out', async () => {
  const store = new MemoryByteStore();
  const reducer = await keptReducer(2, 600);
  await raiseSchemaMark(store, 0, 2, reducer);
  const [file] = await kept(store);
  const bytes = (await store.read(file!))!;
  const payload = decodeRecords(bytes).records[0]!.payload.slice();
  const put = async (damaged: Uint8Array) => {
    await store.delete(file!);
    await store.append(file!, damaged);
    return readMarkedReducer(store, await store.list(), 2);
  };
  for (let at = 0; at < bytes.length; at++) {
    const damaged = bytes.slice();
    damaged[at] = damaged[at]! ^ 0x5a;
    expect(await put(damaged), `byte ${at} of the file`).toBe('damaged');
  }
  // Written so that the record's checksum holds: the SHA-256 (or the header's checks) refuses it.
  for (let at = 0; at < payload.length; at++) {
    const damaged = payload.slice();
    damaged[at] = damaged[at]! ^ 0x5a;
    expect(await put(encodeRecord(RecordType.markedReducer, damaged)), `byte ${at} of the record`).toBe(
      'damaged',
    );
  }
  expect(await put(bytes)).toEqual(reducer);
});
