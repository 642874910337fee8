// Damaged client files at open: the timeline id and the timeline secret survive any one of their
// copies, and a timeline that lost mutations it had recorded is refused with how many, never replayed
// shorter in silence.
import {
  type ByteStore,
  decodeRecords,
  encodeRecord,
  MemoryByteStore,
  RecordType,
  TandemError,
} from '@tandem/runtime';
import fc from 'fast-check';
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

  test('a document closed with its overlay, which opens check its pending records by digest, refuses any one flipped byte of its timeline (timeline-damaged), never opens short', async () => {
    const { storage } = await withPending(3);
    expect(
      (await storage.list()).some((f) => f.startsWith('overlay.')),
      'the overlay is persisted',
    ).toBe(true);
    const file = await fileOf(storage, 'timeline');
    const original = (await storage.read(file))!.slice();
    const seed = Number(process.env.FC_SEED ?? 20_261_207);
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: original.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        async (at, mask) => {
          await rewrite(storage, file, () => original.map((v, i) => (i === at ? v ^ mask : v)));
          const kind = (await openError(storage)).kind;
          expect(kind, `byte ${at} ^ ${mask} (FC_SEED=${seed} replays it)`).toBe('timeline-damaged');
        },
      ),
      { seed, numRuns: 40 },
    );
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

/** Writes one whole meta record of `type` holding `text` as `file` (replacing it). */
async function writeRecord(store: ByteStore, file: string, type: RecordType, text: string): Promise<void> {
  await store.delete(file);
  await store.append(file, encodeRecord(type, new TextEncoder().encode(text)));
  await store.sync(file);
}

async function reopened(storage: ByteStore): Promise<{ timelineId: string; timelineSecret: string }> {
  const doc = await openDocument({ docId: 'reopened', reducer: TODO_REDUCER, storage });
  const { timelineId, timelineSecret } = doc;
  await doc.close();
  return { timelineId, timelineSecret };
}

const DAMAGES = [
  ['deleted', () => new Uint8Array(0)],
  ['with a flipped byte', (b: Uint8Array) => b.map((v, i) => (i === 12 ? v ^ 0xff : v))],
  ['cut short', (b: Uint8Array) => b.subarray(0, 7)],
] as const;

describe('a damaged timeline secret', () => {
  for (const [damage, change] of DAMAGES) {
    test(`a replica whose timeline secret file is ${damage} keeps its secret, so it still syncs on its timeline`, async () => {
      const { storage, timelineId } = await withPending(3);
      const before = await reopened(storage);
      await rewrite(storage, await fileOf(storage, 'secret'), change);
      const doc = await openDocument({ docId: 'reopened', reducer: TODO_REDUCER, storage });
      expect(doc.timelineId).toBe(timelineId);
      expect(doc.timelineSecret).toBe(before.timelineSecret);
      expect(doc.replayed).toBe(3);
      await doc.close();
      // The lost copy was written again: losing another one now is survived too.
      await storage.delete(await fileOf(storage, 'identity'));
      expect(await reopened(storage)).toEqual(before);
    });
  }

  test('a replica keeps its timeline id and secret through any one file flipped, cut or deleted, or refuses loudly', async () => {
    const seed = Number(process.env.FC_SEED ?? 20_261_206);
    const { storage } = await withPending(3);
    const before = await reopened(storage);
    const files = (await storage.list()).sort();
    const outcomes = new Map<string, number>();
    await fc
      .assert(
        fc.asyncProperty(
          fc.constantFrom(...files),
          fc.oneof(
            fc.record({
              how: fc.constant('flip' as const),
              at: fc.nat(),
              mask: fc.integer({ min: 1, max: 255 }),
            }),
            fc.record({ how: fc.constant('cut' as const), at: fc.nat() }),
            fc.record({ how: fc.constant('delete' as const) }),
          ),
          async (file, damage) => {
            const image = storage.crashImage({ keepUnsynced: true });
            await rewrite(image, file, (b) => {
              if (damage.how === 'delete' || b.length === 0) return new Uint8Array(0);
              if (damage.how === 'cut') return b.subarray(0, damage.at % b.length);
              const at = damage.at % b.length;
              return b.map((v, i) => (i === at ? v ^ damage.mask : v));
            });
            const kind = file.split('.')[0]!;
            const opened = await reopened(image).catch((e: unknown) => e);
            if (opened instanceof TandemError) {
              // Only the timeline itself may be lost, and then it is counted.
              expect(kind).toBe('timeline');
              expect(opened.kind).toBe('timeline-damaged');
              outcomes.set(`${kind}: refused`, (outcomes.get(`${kind}: refused`) ?? 0) + 1);
              return;
            }
            expect(opened).toEqual(before);
            outcomes.set(`${kind}: kept`, (outcomes.get(`${kind}: kept`) ?? 0) + 1);
          },
        ),
        { seed, numRuns: 120 },
      )
      .catch((error: unknown) => {
        throw new Error(`seed ${seed} (FC_SEED replays it): ${String(error)}`);
      });
    console.log(`seed ${seed}:`, Object.fromEntries(outcomes));
  });

  test('a replica whose timeline secret copies disagree refuses to open (identity-lost) rather than pick one', async () => {
    const { storage } = await withPending(2);
    const file = await fileOf(storage, 'secret');
    await writeRecord(
      storage,
      file.replace(/\.\d{8}\.meta$/, '.99999999.meta'),
      RecordType.timelineSecret,
      'ab'.repeat(32),
    );
    const error = await openError(storage);
    expect(error.kind).toBe('identity-lost');
    expect(error.fields.reason).toBe('secret-copies-disagree');
    expect(error.message).not.toContain('ab'.repeat(32));
  });

  test('a replica that lost every copy of its secret refuses to open (identity-lost) rather than mint another on its timeline', async () => {
    const { storage } = await withPending(2);
    await storage.delete(await fileOf(storage, 'identity'));
    await storage.delete(await fileOf(storage, 'reach'));
    await rewrite(storage, await fileOf(storage, 'secret'), (b) => b.subarray(0, 7));
    const files = [...(await storage.list())].sort();
    const error = await openError(storage);
    expect(error.kind).toBe('identity-lost');
    expect(error.fields.reason).toBe('secret-lost');
    expect([...(await storage.list())].sort()).toEqual(files);
  });

  test('a folder that kept its secret only in its secret file opens with it, and then survives losing that file', async () => {
    const { storage, timelineId } = await withPending(2);
    const before = await reopened(storage);
    // The format before the secret had copies: the id alone in the identity and reach records.
    await writeRecord(
      storage,
      await fileOf(storage, 'identity'),
      RecordType.identity,
      JSON.stringify({ version: 1, timelineId }),
    );
    await writeRecord(
      storage,
      await fileOf(storage, 'reach'),
      RecordType.identity,
      JSON.stringify({ version: 1, timelineId, nextLsn: 2 }),
    );
    expect(await reopened(storage)).toEqual(before);
    await storage.delete(await fileOf(storage, 'secret'));
    expect(await reopened(storage)).toEqual(before);
  });

  test('a fresh replica mints a secret and keeps it', async () => {
    const storage = new MemoryByteStore();
    const first = await reopened(storage);
    expect(first.timelineSecret).toMatch(/^[0-9a-f]{64}$/);
    expect(await reopened(storage)).toEqual(first);
  });
});
