// Damaged client files at open: the timeline id survives any one of its copies, and a timeline that
// lost mutations it had recorded is refused with how many, never replayed shorter in silence.
import { type ByteStore, decodeRecords, MemoryByteStore, TandemError } from '@tandem/runtime';
import { describe, expect, test } from 'vitest';
import { openDocument } from './document.js';
import { TODO_REDUCER } from './testing/paths.js';

const T0 = 1_700_000_000_000;
let docs = 0;

/** A document with `count` pending mutations, one timeline record each, closed. */
async function withPending(count: number): Promise<{ storage: MemoryByteStore; timelineId: string }> {
  const storage = new MemoryByteStore();
  const doc = await openDocument({ docId: `damage-${++docs}`, reducer: TODO_REDUCER, storage });
  for (let i = 0; i < count; i++) {
    await doc.mutate({ type: 'create', id: `t${i}`, title: `todo ${i}` }, { timestamp: T0 + i });
  }
  await doc.close();
  return { storage, timelineId: doc.timelineId };
}

async function rewrite(store: ByteStore, file: string, change: (bytes: Uint8Array) => Uint8Array) {
  const bytes = (await store.read(file)) ?? new Uint8Array(0);
  await store.delete(file);
  const changed = change(bytes.slice());
  if (changed.length > 0) await store.append(file, changed);
  await store.sync(file);
}

async function fileOf(store: ByteStore, kind: string): Promise<string> {
  const file = (await store.list()).find((f) => f.startsWith(`${kind}.`));
  if (file === undefined) throw new Error(`no ${kind} file`);
  return file;
}

/** Where each record of a file starts. */
function recordOffsets(bytes: Uint8Array): number[] {
  const offsets: number[] = [];
  let at = 0;
  for (const record of decodeRecords(bytes).records) {
    offsets.push(at);
    at += record.payload.length + 9;
  }
  return offsets;
}

async function openError(storage: ByteStore): Promise<TandemError> {
  const error = await openDocument({ docId: 'reopened', reducer: TODO_REDUCER, storage }).then(
    async (doc) => {
      await doc.close();
      return new Error(`opened with ${doc.replayed} replayed`);
    },
    (e: unknown) => e,
  );
  if (!(error instanceof TandemError)) throw error;
  return error;
}

describe('a damaged identity file', () => {
  for (const [damage, change] of [
    ['deleted', () => new Uint8Array(0)],
    ['with a flipped byte', (b: Uint8Array) => b.map((v, i) => (i === 12 ? v ^ 0xff : v))],
    ['cut short', (b: Uint8Array) => b.subarray(0, 7)],
  ] as const) {
    test(`a replica whose identity file is ${damage} keeps its timeline id (from its timeline records)`, async () => {
      const { storage, timelineId } = await withPending(3);
      await rewrite(storage, await fileOf(storage, 'identity'), change);
      const doc = await openDocument({ docId: 'reopened', reducer: TODO_REDUCER, storage });
      expect(doc.timelineId).toBe(timelineId);
      expect(doc.replayed).toBe(3);
      await doc.close();
    });
  }

  test('a replica whose identity copies disagree refuses to open (identity-lost) rather than pick one', async () => {
    const { storage } = await withPending(2);
    const file = await fileOf(storage, 'identity');
    await storage.delete(file);
    const other = await openDocument({
      docId: 'other',
      reducer: TODO_REDUCER,
      storage: new MemoryByteStore(),
    });
    await other.close();
    const { encodeRecord, RecordType } = await import('@tandem/runtime');
    await storage.append(
      file,
      encodeRecord(
        RecordType.identity,
        new TextEncoder().encode(JSON.stringify({ version: 1, timelineId: other.timelineId })),
      ),
    );
    await storage.sync(file);
    const error = await openError(storage);
    expect(error.kind).toBe('identity-lost');
  });
});

describe('a damaged timeline', () => {
  test('a timeline record damaged in the middle is refused with the count of mutations lost, never dropped silently', async () => {
    const { storage } = await withPending(5);
    const file = await fileOf(storage, 'timeline');
    const offsets = recordOffsets((await storage.read(file))!);
    expect(offsets).toHaveLength(5);
    await rewrite(storage, file, (b) => b.map((v, i) => (i === offsets[2]! + 20 ? v ^ 0x01 : v)));
    const error = await openError(storage);
    expect(error.kind).toBe('timeline-damaged');
    expect(error.fields).toMatchObject({ lost: 3, fromLsn: 2, toLsn: 4 });
    // The refusal changed nothing: the next open says the same.
    expect((await openError(storage)).fields).toMatchObject({ lost: 3 });
  });

  test('a timeline cut short after a clean close is refused with the count of mutations lost', async () => {
    const { storage } = await withPending(5);
    const file = await fileOf(storage, 'timeline');
    const offsets = recordOffsets((await storage.read(file))!);
    await rewrite(storage, file, (b) => b.subarray(0, offsets[3]! + 5));
    const error = await openError(storage);
    expect(error.kind).toBe('timeline-damaged');
    expect(error.fields).toMatchObject({ lost: 2, fromLsn: 3, toLsn: 4 });
  });

  test('a deleted timeline is refused with the count of mutations lost', async () => {
    const { storage } = await withPending(4);
    await storage.delete(await fileOf(storage, 'timeline'));
    const error = await openError(storage);
    expect(error.kind).toBe('timeline-damaged');
    expect(error.fields).toMatchObject({ lost: 4, fromLsn: 0, toLsn: 3 });
  });
});
