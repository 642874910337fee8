// The persisted overlay (runtime storage/overlay-cache.ts) is a cache of what replaying the timeline
// gives: a document opened with it shows exactly what it shows opened without it, whatever moment a
// crash froze the files at, and an overlay that does not fit (another reducer, another base, other
// mutations, damaged) is replayed over, never trusted.

import { readFile } from 'node:fs/promises';
import {
  type ByteStore,
  decodeRecords,
  encodeRecord,
  type LocalDocument,
  MemoryByteStore,
  RecordType,
} from '@tandem/runtime';
import { loadReducer } from '@tandem/runtime/prepare';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { openDocument } from './document.js';
import { TODO_REDUCER } from './testing/paths.js';
import { todoMutation } from './testing/todo-model.js';

const SEED = Number(process.env.FC_SEED ?? 20261205);
const T0 = 1_700_000_000_000;
let docs = 0;

/** A MemoryByteStore that keeps, before each write, sync and delete, the store a crash then would leave. */
class CrashPoints extends MemoryByteStore {
  readonly images: { readonly image: MemoryByteStore; readonly resolved: number }[] = [];
  recording = false;
  resolved = 0;
  #outcomes = 0;

  protected override beforeOperation(op: string, length = 0): number {
    if (this.recording && op !== 'read' && op !== 'list') {
      const n = this.#outcomes++;
      const image = this.crashImage({ keepUnsynced: n % 2 === 0, undoDeletes: n % 3 === 0 });
      this.images.push({ image, resolved: this.resolved });
    }
    return length;
  }
}

const copy = (store: MemoryByteStore): MemoryByteStore => store.crashImage({ keepUnsynced: true });

async function overlayFiles(store: ByteStore): Promise<string[]> {
  return (await store.list()).filter((file) => file.startsWith('overlay.')).sort();
}

/** What a document shows: everything a replay must reproduce. */
async function shown(doc: LocalDocument) {
  return {
    pageHash: await doc.pageHash(),
    rows: await doc.query('SELECT * FROM todos ORDER BY id'),
    replayed: doc.replayed,
    rejections: doc.status.rejections,
    migration: doc.migration,
  };
}

/** Opens `store` as it is and, apart, without its overlay files: both must show the same. */
async function openBothWays(store: MemoryByteStore, reducer: string = TODO_REDUCER) {
  const plain = copy(store);
  const bare = copy(store);
  for (const file of await overlayFiles(bare)) await bare.delete(file);
  const withOverlay = await openDocument({ docId: `reopen-${++docs}`, reducer, storage: plain });
  const replayed = await openDocument({ docId: `reopen-${++docs}`, reducer, storage: bare });
  try {
    expect(replayed.rerun, 'without its overlay, a document replays everything').toBe(replayed.replayed);
    return { cached: await shown(withOverlay), replay: await shown(replayed), rerun: withOverlay.rerun };
  } finally {
    await withOverlay.close();
    await replayed.close();
  }
}

test('a document opened with its persisted overlay shows exactly what a replay of its timeline shows, after a crash at any write, sync or delete', async () => {
  const batch = fc.array(todoMutation(12), { minLength: 1, maxLength: 6 });
  await fc.assert(
    fc.asyncProperty(
      fc.array(batch, { minLength: 1, maxLength: 5 }),
      fc.array(batch, { minLength: 1, maxLength: 5 }),
      fc.array(fc.nat(), { minLength: 1, maxLength: 5 }),
      async (first, second, picks) => {
        const store = new CrashPoints();
        const docId = `crash-${++docs}`;
        let at = T0;
        const one = await openDocument({ docId, reducer: TODO_REDUCER, storage: store });
        for (const mutations of first) await one.mutateBatch(mutations, { timestamp: at++ });
        await one.close();
        const count = first.flat().length;
        expect(await overlayFiles(store), 'a clean close leaves one overlay').toHaveLength(1);

        const two = await openDocument({ docId, reducer: TODO_REDUCER, storage: store });
        expect(two.rerun, 'the overlay held every pending mutation').toBe(0);
        expect(two.replayed).toBe(count);
        store.recording = true;
        store.resolved = count;
        // Some batches awaited, some queued together: crashes fall between and inside them.
        const running: Promise<unknown>[] = [];
        for (const [i, mutations] of second.entries()) {
          const done = two.mutateBatch(mutations, { timestamp: at++ }).then(() => {
            store.resolved += mutations.length;
          });
          if (i % 2 === 0) await done;
          else running.push(done);
        }
        await Promise.all(running);
        await two.close();
        store.recording = false;

        const images = [
          ...picks.map((k) => store.images[k % store.images.length]!),
          { image: copy(store), resolved: store.resolved },
        ];
        for (const { image, resolved } of images) {
          const { cached, replay } = await openBothWays(image);
          expect(cached).toEqual(replay);
          expect(
            cached.replayed,
            'every mutation whose mutate resolved is still there',
          ).toBeGreaterThanOrEqual(resolved);
        }
        const last = await openBothWays(copy(store));
        expect(last.rerun, 'after a clean close nothing is reduced again').toBe(0);
      },
    ),
    { seed: SEED, numRuns: 12 },
  );
}, 120_000);

/** A document with local rejections among its pending mutations, closed cleanly (its overlay saved). */
async function closedWithOverlay(): Promise<MemoryByteStore> {
  const storage = new MemoryByteStore();
  const doc = await openDocument({ docId: `tamper-${++docs}`, reducer: TODO_REDUCER, storage });
  for (let i = 0; i < 40; i++) {
    await doc.mutateBatch(
      [
        { type: 'create', id: `t${i}`, title: `todo ${i}` },
        { type: 'create', id: `t${i}`, title: 'again' },
        { type: 'toggle', id: `t${i >> 1}` },
      ],
      { timestamp: T0 + i },
    );
  }
  await doc.close();
  return storage;
}

/** Replaces the newest overlay file with `change` of its bytes. */
async function rewriteOverlay(store: ByteStore, change: (bytes: Uint8Array) => Uint8Array): Promise<void> {
  const file = (await overlayFiles(store)).at(-1)!;
  const bytes = (await store.read(file))!;
  await store.delete(file);
  const changed = change(bytes);
  if (changed.length > 0) await store.append(file, changed);
  await store.sync(file);
}

/** The overlay file with its header changed by `edit`, every record whole. */
function editHeader(edit: (header: Record<string, unknown>) => void) {
  return (bytes: Uint8Array): Uint8Array => {
    const [header, ...rest] = decodeRecords(bytes).records;
    const json = JSON.parse(new TextDecoder().decode(header!.payload)) as Record<string, unknown>;
    edit(json);
    const records = [
      encodeRecord(RecordType.overlayHeader, new TextEncoder().encode(JSON.stringify(json))),
      ...rest.map((r) => encodeRecord(r.type, r.payload)),
    ];
    return new Uint8Array(records.flatMap((r) => [...r]));
  };
}

describe('an overlay that does not fit is replayed over', () => {
  const top = (key: string, value: unknown) => (h: Record<string, unknown>) => {
    h[key] = value;
  };
  const nested = (key: string, field: string, value: unknown) => (h: Record<string, unknown>) => {
    (h[key] as Record<string, unknown>)[field] = value;
  };
  const cases: readonly [string, (bytes: Uint8Array) => Uint8Array][] = [
    ['made by another reducer', editHeader(top('reducer', '0'.repeat(64)))],
    ['made over other base pages', editHeader(nested('base', 'hash', '1'.repeat(64)))],
    ['made over another base frame', editHeader(nested('base', 'cursor', 7))],
    ['made over another coordinator history', editHeader(nested('base', 'journalId', 'other'))],
    ['made under another protocol', editHeader(top('protocol', 1))],
    ['made of other mutations', editHeader(nested('pending', 'digest', '2'.repeat(64)))],
    ['made of more mutations than the timeline holds', editHeader(nested('pending', 'count', 1000))],
    ['made after another applied marker', editHeader(top('appliedLsn', 3))],
    ['of another timeline', editHeader(top('timelineId', 'someone-else'))],
    [
      'with a page byte changed (its record whole again)',
      (bytes) => {
        const [header, first, ...rest] = decodeRecords(bytes).records;
        const pages = first!.payload.slice();
        pages[4 + 200] = pages[4 + 200]! ^ 0x5a;
        const records = [header!, { type: first!.type, payload: pages }, ...rest];
        return new Uint8Array(records.flatMap((r) => [...encodeRecord(r.type, r.payload)]));
      },
    ],
    ['cut short', (bytes) => bytes.subarray(0, bytes.length - 3)],
    ['emptied', () => new Uint8Array(0)],
    ['with a byte flipped', (bytes) => bytes.map((b, i) => (i === bytes.length >> 1 ? b ^ 1 : b))],
  ];
  for (const [what, change] of cases) {
    test(`an overlay ${what}`, async () => {
      const storage = await closedWithOverlay();
      await rewriteOverlay(storage, change);
      const { cached, replay, rerun } = await openBothWays(storage);
      expect(rerun, 'everything was reduced again').toBe(cached.replayed);
      expect(cached).toEqual(replay);
      expect(cached.rejections.length).toBeGreaterThan(0);
    });
  }

  test('the untouched overlay is used, and restores the local rejections as a replay finds them', async () => {
    const storage = await closedWithOverlay();
    const { cached, replay, rerun } = await openBothWays(storage);
    expect(rerun).toBe(0);
    expect(cached).toEqual(replay);
    expect(cached.rejections.map((r) => r.lsn)).toEqual(replay.rejections.map((r) => r.lsn));
  });

  test('a document opened with another reducer (other limits) reduces everything again under it', async () => {
    const storage = await closedWithOverlay();
    const other = await loadReducer(await readFile(TODO_REDUCER), { limits: { maxMemoryPages: 64 } });
    const doc = await openDocument({ docId: 'other-reducer', reducer: other, storage: copy(storage) });
    const bare = copy(storage);
    for (const file of await overlayFiles(bare)) await bare.delete(file);
    const replay = await openDocument({ docId: 'other-reducer-replay', reducer: other, storage: bare });
    expect(doc.rerun).toBe(doc.replayed);
    expect(await shown(doc)).toEqual(await shown(replay));
    await doc.close();
    await replay.close();
  });
});

test('a document that reduced thousands of mutations saves its overlay without closing, so a crash replays only the rest', async () => {
  const storage = new MemoryByteStore();
  const docId = `background-${++docs}`;
  const doc = await openDocument({ docId, reducer: TODO_REDUCER, storage });
  for (let from = 0; from < 2500; from += 500) {
    await doc.mutateBatch(
      Array.from({ length: 500 }, (_, i) => ({
        type: 'create',
        id: `t${from + i}`,
        title: `todo ${from + i}`,
      })),
      { timestamp: T0 },
    );
  }
  for (let wait = 0; (await overlayFiles(storage)).length === 0 && wait < 200; wait++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await doc.mutate({ type: 'toggle', id: 't1' }, { timestamp: T0 + 1 });
  // Killed: no close, only what was synced.
  const crashed = storage.crashImage({ keepUnsynced: false });
  const { cached, replay, rerun } = await openBothWays(crashed);
  expect(cached.replayed).toBe(2501);
  expect(rerun).toBeLessThan(600);
  expect(cached).toEqual(replay);
  await doc.close();
}, 60_000);
