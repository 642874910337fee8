// The claims every coordinator store makes (coordinator-store.ts), as a vitest suite each store runs
// against itself: files (files-store.test.ts) and PostgreSQL (postgres-store.test.ts). Same claims,
// same code; only the store differs.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { type Frame, PAGE_SIZE, PageStore, TandemError } from '@tandem/runtime';
import { loadReducer } from '@tandem/runtime/prepare';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { AuthorityDocument } from '../authority/authority-document.js';
import type { AuthorityJournal, AuthorityRecovered, AuthorityStore } from '../authority/authority-store.js';
import type { DocumentStores } from './coordinator-store.js';
import type { ReducerShelf } from './reducer-shelf.js';

/** A fresh, empty store of the kind under test; `dispose` deletes it. */
export interface StoreUnderTest {
  readonly stores: () => DocumentStores;
  readonly reducers: ReducerShelf;
  dispose(): Promise<void>;
}

export interface StoreContractOptions {
  /** fast-check seed (printed by fast-check when a property fails). */
  readonly seed?: number;
}

const reducerBytes = new Uint8Array(
  await readFile(new URL('../../../reducers/todo/dist/reducer.wasm', import.meta.url)),
);

/** A frame of `lsn` whose pages are filled with bytes derived from it. */
function frameOf(lsn: number, pgnos: readonly number[]): Frame {
  const sorted = [...new Set(pgnos)].sort((a, b) => a - b);
  return {
    lsn,
    pageCount: Math.max(...sorted),
    pages: sorted.map((pgno) => ({ pgno, data: new Uint8Array(PAGE_SIZE).fill((lsn * 31 + pgno) % 251) })),
  };
}

const plan = fc.record({
  frames: fc.array(fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 }), {
    minLength: 1,
    maxLength: 12,
  }),
  /** Frames synced in groups of this size. */
  group: fc.integer({ min: 1, max: 4 }),
  /** Checkpoint after this many frames (none when beyond the count). */
  checkpointAt: fc.integer({ min: 1, max: 14 }),
  /** Frames appended at the end and never synced. */
  unsynced: fc.integer({ min: 0, max: 2 }),
});

async function openJournal(
  store: AuthorityStore,
  journalId = 'j-new',
): Promise<{ journal: AuthorityJournal; recovered: AuthorityRecovered }> {
  return store.open({ journalId, beforeWrite: async () => undefined });
}

function rebuilt(recovered: AuthorityRecovered): PageStore {
  const pages = new PageStore();
  if (recovered.image !== undefined) pages.applyFrame(recovered.image);
  for (const frame of recovered.frames) pages.applyFrame(frame);
  return pages;
}

function pagesOf(pages: PageStore): [number, number[]][] {
  return [...pages.base().pages()].map((page) => [page.pgno, [...page.data.subarray(0, 4)]]);
}

export function describeStoreContract(
  name: string,
  make: () => Promise<StoreUnderTest>,
  options: StoreContractOptions = {},
): void {
  const seed = options.seed ?? Date.now() % 1_000_000;
  describe(`${name} store (seed ${seed})`, () => {
    test('a reopen recovers every synced frame, through any checkpoint, and keeps the journalId', async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(plan, async ({ frames, group, checkpointAt, unsynced }) => {
          const under = await make();
          const stores = under.stores();
          try {
            const docId = `doc-${run++}`;
            const opened = await stores.open(docId);
            const { journal, recovered } = await openJournal(opened.store, `j-${docId}`);
            expect(recovered).toMatchObject({ image: undefined, frames: [] });
            const expected = new PageStore();
            for (let lsn = 0; lsn < frames.length; lsn++) {
              const frame = frameOf(lsn, frames[lsn]!);
              journal.appendFrame(frame);
              expected.applyFrame(frame);
              if ((lsn + 1) % group === 0 || lsn === frames.length - 1) await journal.sync();
              if (lsn + 1 === checkpointAt) await journal.checkpoint(expected.base(), lsn + 1);
            }
            for (let i = 0; i < unsynced; i++) journal.appendFrame(frameOf(frames.length + i, [1]));
            await opened.release();

            const again = await stores.open(docId);
            const reopened = await openJournal(again.store, 'j-other');
            expect(reopened.recovered.journalId).toBe(recovered.journalId ?? `j-${docId}`);
            const { image } = reopened.recovered;
            const imageAt = checkpointAt <= frames.length ? checkpointAt : undefined;
            expect(image?.frameCount).toBe(imageAt);
            expect(reopened.recovered.frames.map((f) => f.lsn)).toEqual(
              Array.from({ length: frames.length - (imageAt ?? 0) }, (_, i) => (imageAt ?? 0) + i),
            );
            expect(pagesOf(rebuilt(reopened.recovered))).toEqual(pagesOf(expected));
            expect(reopened.journal.nextFrameLsn).toBe(frames.length);
            await again.release();
          } finally {
            await stores.close();
            await under.dispose();
          }
        }),
        { seed, numRuns: 8 },
      );
    });

    test('a document refused before anything is written is left as it was', async () => {
      const under = await make();
      const stores = under.stores();
      try {
        const refusal = new TandemError('reducer-too-old', 'refused for the test');
        const opened = await stores.open('refused');
        await expect(
          opened.store.open({
            journalId: 'j',
            beforeWrite: async () => {
              throw refusal;
            },
          }),
        ).rejects.toBe(refusal);
        await opened.release();
        // Nothing was recorded: the next open starts the history under its own id.
        const fresh = await stores.open('refused');
        expect((await openJournal(fresh.store, 'j-fresh')).recovered).toMatchObject({
          journalId: 'j-fresh',
          frames: [],
        });
        await fresh.release();

        const kept = await stores.open('kept');
        const { journal } = await openJournal(kept.store, 'j-kept');
        journal.appendFrame(frameOf(0, [1, 2]));
        await journal.sync();
        await kept.release();
        const again = await stores.open('kept');
        await expect(
          again.store.open({
            journalId: 'j',
            beforeWrite: async (read) => {
              expect(read.frames.map((f) => f.lsn)).toEqual([0]);
              throw refusal;
            },
          }),
        ).rejects.toBe(refusal);
        await again.release();
        const last = await stores.open('kept');
        expect((await openJournal(last.store)).recovered).toMatchObject({ journalId: 'j-kept' });
        await last.release();
      } finally {
        await stores.close();
        await under.dispose();
      }
    });

    test('syncs called together complete in call order, each making its own frames durable', async () => {
      const under = await make();
      const stores = under.stores();
      try {
        const opened = await stores.open('ordered');
        const { journal } = await openJournal(opened.store);
        const done: number[] = [];
        const syncs: Promise<void>[] = [];
        for (let lsn = 0; lsn < 20; lsn++) {
          journal.appendFrame(frameOf(lsn, [1 + (lsn % 3)]));
          syncs.push(journal.sync().then(() => void done.push(lsn)));
        }
        await Promise.all(syncs);
        expect(done).toEqual(Array.from({ length: 20 }, (_, i) => i));
        await opened.release();
        const again = await stores.open('ordered');
        expect((await openJournal(again.store)).recovered.frames).toHaveLength(20);
        await again.release();
      } finally {
        await stores.close();
        await under.dispose();
      }
    });

    test('the store lists its documents in id order', async () => {
      const under = await make();
      const stores = under.stores();
      try {
        for (const docId of ['b', 'a', 'c-1']) {
          const opened = await stores.open(docId);
          const { journal } = await openJournal(opened.store);
          journal.appendFrame(frameOf(0, [1]));
          await journal.sync();
          await opened.release();
        }
        expect(await stores.list()).toEqual(['a', 'b', 'c-1']);
      } finally {
        await stores.close();
        await under.dispose();
      }
    });

    test('an authoritative document reopened from the store has the same pages, markers and journalId', async () => {
      const under = await make();
      const stores = under.stores();
      const reducer = await loadReducer(reducerBytes);
      try {
        const opened = await stores.open('todo');
        const first = await AuthorityDocument.open({
          docId: 'todo',
          reducer,
          store: opened.store,
          checkpointEvery: 3,
        });
        for (let lsn = 0; lsn < 7; lsn++) {
          const payload = new TextEncoder().encode(
            JSON.stringify({ type: 'create', id: `t${lsn}`, title: 'x' }),
          );
          await first.push([
            { timelineId: 'tl', mutations: [{ timelineId: 'tl', lsn, timestamp: 1_000 + lsn, payload }] },
          ]);
        }
        const hash = await first.pageHash();
        const { journalId, nextFrameLsn } = first;
        await first.close();
        await opened.release();

        const again = await stores.open('todo');
        const second = await AuthorityDocument.open({ docId: 'todo', reducer, store: again.store });
        expect(second.journalId).toBe(journalId);
        expect(second.nextFrameLsn).toBe(nextFrameLsn);
        expect(second.appliedMarkers.get('tl')).toBe(6);
        expect(await second.pageHash()).toBe(hash);
        await second.close();
        await again.release();
      } finally {
        await stores.close();
        await under.dispose();
      }
    });

    test('reducers kept are known after a restart, the one set current is current, and a keep makes it newest', async () => {
      const under = await make();
      try {
        const shelf = under.reducers;
        expect(await shelf.kept()).toEqual([]);
        expect(await shelf.current()).toBeUndefined();
        const a = { sha256: sha('a'), bytes: new TextEncoder().encode('a'), schemaVersion: 1 };
        const b = { sha256: sha('b'), bytes: new TextEncoder().encode('b'), schemaVersion: 1 };
        await shelf.keep(a);
        await shelf.keep(b);
        expect(await shelf.setCurrent(b.sha256, undefined)).toBe(true);
        const order = (kept: Awaited<ReturnType<ReducerShelf['kept']>>) =>
          [...kept].sort((x, y) => (x.order < y.order ? -1 : 1)).map((k) => k.sha256);
        expect(order(await shelf.kept())).toEqual([a.sha256, b.sha256]);
        expect(await shelf.current()).toBe(b.sha256);
        // A compare-and-set from a stale read changes nothing and says so.
        expect(await shelf.setCurrent(a.sha256, undefined)).toBe(false);
        expect(await shelf.setCurrent(b.sha256, a.sha256)).toBe(false);
        expect(await shelf.current()).toBe(b.sha256);
        expect(await shelf.setCurrent(a.sha256, b.sha256)).toBe(true);
        expect(await shelf.setCurrent(b.sha256, a.sha256)).toBe(true);
        // File times have a coarse grain on some file systems: the next keep must land later.
        await new Promise((resolve) => setTimeout(resolve, 20));
        await shelf.keep(a);
        expect(order(await shelf.kept())).toEqual([b.sha256, a.sha256]);
        expect((await shelf.kept()).find((k) => k.sha256 === a.sha256)?.bytes).toEqual(a.bytes);
      } finally {
        await under.dispose();
      }
    });
  });
}

function sha(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
