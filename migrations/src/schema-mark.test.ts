// A client's document keeps the highest schema version a reducer ran it at (runtime
// storage/schema-mark.ts): a reopen under an older reducer is refused with reducer-too-old even while
// the newer version lives only in the overlay of its pending mutations (a document that never synced,
// or one moved to the coordinator's newer reducer before any frame of it arrived), unless the reducer
// an upgrade moved it to is kept whole beside the mark: then that one opens it.
import { readFile } from 'node:fs/promises';
import { MemoryByteStore, TandemError } from '@tandem/runtime';
import { type ByteStore, openLocalDocument, raiseSchemaMark, readSchemaMark } from '@tandem/runtime/local';
import { loadReducer } from '@tandem/runtime/prepare';
import { expect, test } from 'vitest';
import { schemaLifecycle } from './schema-version.js';

const v1 = await loadReducer(
  await readFile(new URL('../../e2e/fixtures/todo-v1-reducer/dist/reducer.wasm', import.meta.url)),
);
const v2 = await loadReducer(
  await readFile(new URL('../../reducers/todo/dist/reducer.wasm', import.meta.url)),
);

const uniqueTitles = await loadReducer(
  await readFile(
    new URL('../../e2e/fixtures/todo-v2-unique-titles-reducer/dist/reducer.wasm', import.meta.url),
  ),
);

async function refusal(opening: Promise<unknown>): Promise<TandemError> {
  const error = await opening.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TandemError);
  return error as TandemError;
}

const snapshot = async (store: MemoryByteStore) =>
  new Map(await Promise.all((await store.list()).map(async (f) => [f, await store.read(f)] as const)));

const keptReducers = async (store: MemoryByteStore) =>
  (await store.list()).filter((f) => f.startsWith('reducer.'));

/** A document moved to version 2 by an upgrade, with a mutation pending under each version. */
async function upgradedWithPending(storage: MemoryByteStore) {
  const doc = await openLocalDocument({
    schema: schemaLifecycle,
    docId: 'd',
    reducer: v1,
    timelineId: 't',
    storage,
  });
  await doc.mutate({ type: 'create', id: 'a', title: 'milk' });
  await doc.upgradeReducer(v2);
  await doc.mutate({ type: 'setPriority', id: 'a', priority: 3 });
  await doc.close();
}

test('a document upgraded to version 2 with pending mutations reopens with version 2, kept beside its mark, when the app still ships version 1', async () => {
  const storage = new MemoryByteStore();
  await upgradedWithPending(storage);
  expect(await keptReducers(storage)).toHaveLength(1);
  const reopened = await openLocalDocument({
    schema: schemaLifecycle,
    docId: 'd',
    reducer: v1,
    timelineId: 't',
    storage,
  });
  expect(reopened.reducer).toEqual({ hash: v2.sha256, schemaVersion: 2 });
  expect(reopened.pendingCount).toBe(2);
  expect(await reopened.query('SELECT id, priority FROM todos')).toEqual([{ id: 'a', priority: 3 }]);
  await reopened.close();
});

test('a move to another reducer of the same schema version keeps that one beside the mark: an offline reopen with version 1 runs the reducer the document last ran', async () => {
  const storage = new MemoryByteStore();
  const open = () =>
    openLocalDocument({ schema: schemaLifecycle, docId: 'd', reducer: v1, timelineId: 't', storage });
  const first = await open();
  await first.mutate({ type: 'create', id: 'a', title: 'milk' });
  await first.upgradeReducer(v2);
  await first.close();
  const doc = await open();
  expect(doc.reducer.hash).toBe(v2.sha256);
  // Version 2 again, another reducer (whose mutations are version 1's).
  await doc.upgradeReducer(uniqueTitles);
  await doc.mutate({ type: 'create', id: 'b', title: 'bread' });
  await doc.close();
  expect(await keptReducers(storage)).toHaveLength(1);
  const reopened = await open();
  expect(reopened.reducer).toEqual({ hash: uniqueTitles.sha256, schemaVersion: 2 });
  expect(reopened.pendingCount).toBe(2);
  // Its schema, not version 2 of reducers/todo's: its migrate(1) adds no column (an index).
  expect(await reopened.query('SELECT id FROM todos ORDER BY id')).toEqual([{ id: 'a' }, { id: 'b' }]);
  await reopened.close();
});

test('without the kept reducer, a document upgraded to version 2 is refused to version 1 and nothing is written; version 2 reopens it whole', async () => {
  const storage = new MemoryByteStore();
  await upgradedWithPending(storage);
  for (const file of await keptReducers(storage)) await storage.delete(file);
  const open = (reducer: typeof v1) =>
    openLocalDocument({ schema: schemaLifecycle, docId: 'd', reducer, timelineId: 't', storage });
  const files = await snapshot(storage);
  const refused = await refusal(open(v1));
  expect(refused.kind).toBe('reducer-too-old');
  expect(refused.fields).toMatchObject({ documentVersion: 2, reducerVersion: 1 });
  expect(await snapshot(storage)).toEqual(files);

  const reopened = await open(v2);
  expect(await reopened.query('SELECT id, priority FROM todos')).toEqual([{ id: 'a', priority: 3 }]);
  await reopened.close();
});

test('a kept reducer damaged at any byte is never run: the open is refused with reducer-too-old, saying so, and nothing is written', async () => {
  const storage = new MemoryByteStore();
  await upgradedWithPending(storage);
  const [file] = await keptReducers(storage);
  const kept = (await storage.read(file!))!;
  // The record's head, its JSON header, the reducer's bytes and the checksum (every byte: runtime
  // storage/schema-mark.test.ts, on the reader alone).
  const positions = [0, 30, kept.length >> 1, kept.length - 1];
  for (const at of positions) {
    const damaged = kept.slice();
    damaged[at] = damaged[at]! ^ 0x5a;
    await storage.delete(file!);
    await storage.append(file!, damaged);
    const files = await snapshot(storage);
    const refused = await refusal(
      openLocalDocument({ schema: schemaLifecycle, docId: 'd', reducer: v1, timelineId: 't', storage }),
    );
    expect(refused.kind, `byte ${at}`).toBe('reducer-too-old');
    expect(refused.message).toContain('damaged');
    expect(await snapshot(storage)).toEqual(files);
  }
});

test('a document whose schema version was recorded for a move that never came (its session ended before the burst) puts the mark back as it closes, and reopens on the reducer it ran with every mutation', async () => {
  const storage = new MemoryByteStore();
  const doc = await openLocalDocument({
    schema: schemaLifecycle,
    docId: 'd',
    reducer: v1,
    timelineId: 't',
    storage,
  });
  await doc.mutate({ type: 'create', id: 'a', title: 'milk' });
  await doc.readyUpgrade(v2);
  expect(await readSchemaMark(storage, await storage.list())).toBe(2);
  await doc.mutate({ type: 'create', id: 'b', title: 'bread' });
  await doc.close();
  expect(await readSchemaMark(storage, await storage.list())).toBe(1);
  expect(await keptReducers(storage)).toEqual([]);
  const reopened = await openLocalDocument({
    schema: schemaLifecycle,
    docId: 'd',
    reducer: v1,
    timelineId: 't',
    storage,
  });
  expect(reopened.reducer.hash).toBe(v1.sha256);
  expect(await reopened.query('SELECT id FROM todos ORDER BY id')).toEqual([{ id: 'a' }, { id: 'b' }]);
  await reopened.close();
});

test('the mark refuses only older reducers: version 1 reopens a document only version 1 ran', async () => {
  const storage = new MemoryByteStore();
  const open = (reducer: typeof v1) =>
    openLocalDocument({ schema: schemaLifecycle, docId: 'd', reducer, timelineId: 't', storage });
  const first = await open(v1);
  await first.mutate({ type: 'create', id: 'a', title: 'milk' });
  await first.close();
  const again = await open(v1);
  expect(await again.query('SELECT id FROM todos')).toEqual([{ id: 'a' }]);
  await again.close();
});

// A reducer that only declares `version`: what readyUpgrade reads before it records the mark.
const declaring = (version: number): typeof v1 => ({
  ...v2,
  instantiate: () => ({ schemaVersion: () => version }) as unknown as ReturnType<typeof v2.instantiate>,
});

const markFiles = async (store: MemoryByteStore) =>
  (await store.list()).filter((f) => f.startsWith('schema.'));

for (const order of [
  [2, 3],
  [3, 2],
]) {
  test(`two raises at once (${order.join(' then ')}) leave the higher mark in one whole file`, async () => {
    const storage = new MemoryByteStore();
    const doc = await openLocalDocument({
      schema: schemaLifecycle,
      docId: 'd',
      reducer: v1,
      timelineId: 't',
      storage,
    });
    await Promise.all(order.map((version) => doc.readyUpgrade(declaring(version))));
    const files = await markFiles(storage);
    expect(files).toHaveLength(1);
    expect(await readSchemaMark(storage, files)).toBe(3);
    const single = new MemoryByteStore();
    await raiseSchemaMark(single, 0, 3, undefined, {
      by: v2.sha256,
      move: { from: { schemaVersion: 1, sha256: v1.sha256 } },
    });
    const [one] = await markFiles(single);
    expect((await storage.read(files[0] ?? ''))?.length).toBe((await single.read(one ?? ''))?.length);
    // Neither move came: closing puts the mark back to the reducer the document ran.
    await doc.close();
    expect(await readSchemaMark(storage, await markFiles(storage))).toBe(1);
  });
}

test('a document closed while it records its schema version writes nothing after its storage is released', async () => {
  const memory = new MemoryByteStore();
  const operations: string[] = [];
  let hold: Promise<void> | undefined;
  let release = () => {};
  const recording: ByteStore = {
    list: () => memory.list(),
    read: (name) => memory.read(name),
    append: async (name, bytes) => {
      if (name.startsWith('schema.')) await hold;
      operations.push(`append ${name}`);
      await memory.append(name, bytes);
    },
    sync: async (name) => {
      operations.push(`sync ${name}`);
      await memory.sync(name);
    },
    delete: async (name) => {
      operations.push(`delete ${name}`);
      await memory.delete(name);
    },
  };
  const doc = await openLocalDocument({
    schema: schemaLifecycle,
    docId: 'd',
    reducer: v1,
    timelineId: 't',
    storage: recording,
    closeStorage: async () => {
      operations.push('closeStorage');
    },
  });
  hold = new Promise((resolve) => {
    release = resolve;
  });
  const opened = operations.length;
  const marking = doc.readyUpgrade(declaring(2));
  const closing = doc.close();
  await new Promise((resolve) => setTimeout(resolve, 20));
  release();
  await Promise.all([marking, closing]);
  expect(operations.at(-1)).toBe('closeStorage');
  expect(operations.some((op) => op.startsWith('append schema.'))).toBe(true);
  // The raise was written, then put back by the close, as its move never came.
  expect(operations.slice(opened).filter((op) => op.startsWith('append schema.'))).toHaveLength(2);
  expect(await readSchemaMark(memory, await memory.list())).toBe(1);
});

/**
 * `memory` whose third write of a schema mark (the open's, the move's raise, then the mark written again
 * once the move held) first awaits `third`, which may pause or fail it.
 */
function atThirdMarkWrite(
  memory: MemoryByteStore,
  third: (name: string) => Promise<void>,
): ByteStore & {
  readonly schemaWrites: number;
} {
  let schemaWrites = 0;
  return {
    get schemaWrites() {
      return schemaWrites;
    },
    list: () => memory.list(),
    read: (name) => memory.read(name),
    append: async (name, bytes) => {
      if (name.startsWith('schema.') && ++schemaWrites === 3) await third(name);
      await memory.append(name, bytes);
    },
    sync: (name) => memory.sync(name),
    delete: (name) => memory.delete(name),
  };
}

test('no mutation is taken under the reducer a document moved to before its mark stops recording the move: a crash before leaves only mutations the older reducer ran', async () => {
  const memory = new MemoryByteStore();
  let release = () => {};
  const paused = new Promise<void>((resolve) => {
    release = resolve;
  });
  // The open's mark, the move's raise, then the mark written again once the move held: paused.
  const store = atThirdMarkWrite(memory, () => paused);
  const open = (storage: ByteStore) =>
    openLocalDocument({ schema: schemaLifecycle, docId: 'd', reducer: v1, timelineId: 't', storage });
  const doc = await open(store);
  await doc.mutate({ type: 'create', id: 'a', title: 'milk' });
  await doc.upgradeReducer(v2);
  let resolved = false;
  const setting = doc.mutate({ type: 'setPriority', id: 'a', priority: 3 }).then(() => {
    resolved = true;
  });
  await new Promise((resolve) => setTimeout(resolve, 30));
  expect(store.schemaWrites).toBe(3);
  expect(resolved).toBe(false);
  for (const keepUnsynced of [false, true]) {
    const crashed = await open(memory.crashImage({ keepUnsynced }));
    expect(crashed.reducer.hash).toBe(v1.sha256);
    expect(crashed.pendingCount).toBe(1);
    expect(await crashed.query('SELECT id FROM todos')).toEqual([{ id: 'a' }]);
    await crashed.close();
  }
  release();
  await setting;
  await doc.close();
  const reopened = await open(memory);
  expect(reopened.reducer.hash).toBe(v2.sha256);
  expect(await reopened.query('SELECT id, priority FROM todos')).toEqual([{ id: 'a', priority: 3 }]);
  await reopened.close();
});

test('a moved document whose mark cannot be written as held fails (storage-failed) before it takes a mutation under the new reducer, and reopens on the reducer it ran before the move', async () => {
  const memory = new MemoryByteStore();
  // The open's mark, the move's raise, then the held mark: that one fails.
  const store = atThirdMarkWrite(memory, (name) =>
    Promise.reject(new Error(`injected: cannot write ${name}`)),
  );
  const open = (storage: ByteStore) =>
    openLocalDocument({ schema: schemaLifecycle, docId: 'd', reducer: v1, timelineId: 't', storage });
  const doc = await open(store);
  await doc.mutate({ type: 'create', id: 'a', title: 'milk' });
  await doc.upgradeReducer(v2);
  const refused = await refusal(doc.mutate({ type: 'setPriority', id: 'a', priority: 3 }));
  expect(refused.kind).toBe('storage-failed');
  expect(store.schemaWrites).toBe(3);
  await doc.close().catch(() => undefined);
  const reopened = await open(memory);
  expect(reopened.reducer.hash).toBe(v1.sha256);
  expect(reopened.pendingCount).toBe(1);
  expect(await reopened.query('SELECT id FROM todos')).toEqual([{ id: 'a' }]);
  await reopened.close();
});
