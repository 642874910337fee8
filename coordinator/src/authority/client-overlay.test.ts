// A client's persisted overlay (runtime storage/overlay-cache.ts) over a base the authority made: it is
// used while that base stays, and shows exactly what a replay of the timeline shows (host-node's
// overlay.test.ts claims the same over local bases; this one needs the authority's frames).

import { readFile } from 'node:fs/promises';
import { openDocument } from '@tandem/host-node';
import { type ByteStore, type LocalDocument, MemoryByteStore } from '@tandem/runtime';
import { loadReducer } from '@tandem/runtime/prepare';
import { expect, test } from 'vitest';
import { AuthorityDocument } from './authority-document.js';

const TODO_REDUCER = new URL('../../../reducers/todo/dist/reducer.wasm', import.meta.url);
const T0 = 1_700_000_000_000;
let docs = 0;

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

/** The document in `store` opened with its overlay and without it (the overlay's files deleted). */
async function openBothWays(store: MemoryByteStore) {
  const plain = copy(store);
  const bare = copy(store);
  for (const file of await overlayFiles(bare)) await bare.delete(file);
  const withOverlay = await openDocument({
    docId: `reopen-${++docs}`,
    reducer: TODO_REDUCER,
    storage: plain,
  });
  const replayed = await openDocument({ docId: `reopen-${++docs}`, reducer: TODO_REDUCER, storage: bare });
  try {
    expect(replayed.rerun, 'without its overlay, a document replays everything').toBe(replayed.replayed);
    return { cached: await shown(withOverlay), replay: await shown(replayed), rerun: withOverlay.rerun };
  } finally {
    await withOverlay.close();
    await replayed.close();
  }
}

test('over a base the coordinator sent, the overlay is used while that base stays, and pages equal a replay', async () => {
  const reducer = await loadReducer(await readFile(TODO_REDUCER));
  const docId = `synced-${++docs}`;
  const authority = await AuthorityDocument.open({ docId, reducer });
  const storage = new MemoryByteStore();
  const doc = await openDocument({ docId, reducer, storage });
  const made = await doc.mutateBatch(
    Array.from({ length: 12 }, (_, i) => ({ type: 'create', id: `t${i}`, title: `todo ${i}` })),
    { timestamp: T0 },
  );
  expect(made.every((r) => r.status === 'applied')).toBe(true);
  const taken = doc.pendingAfter(-1).slice(0, 5);
  await authority.push([{ timelineId: doc.timelineId, mutations: taken }]);
  const catchUp = authority.framesSince(0);
  if (catchUp.status !== 'frames') throw new Error('no frames to catch up from');
  doc.rebase({ journalId: 'history-1', frames: catchUp.frames.map((kept) => kept.frame) });
  await doc.mutate({ type: 'toggle', id: 't7' }, { timestamp: T0 + 1 });
  await doc.close();
  await authority.close();

  const { cached, replay, rerun } = await openBothWays(storage);
  expect(cached.replayed, 'the base took five of them').toBe(8);
  expect(rerun).toBe(0);
  expect(cached).toEqual(replay);
});
