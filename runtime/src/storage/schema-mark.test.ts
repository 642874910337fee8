import { expect, test } from 'vitest';
import { parseFileName } from './file-names.js';
import { MemoryByteStore } from './memory-byte-store.js';
import { raiseSchemaMark, readSchemaMark } from './schema-mark.js';

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
