import { readFile } from 'node:fs/promises';
import { FaultyByteStore, loadReducer, MemoryByteStore, type MutationEnvelope } from '@tandem/runtime';
import { expect, test } from 'vitest';
import { APPLIED_TABLE } from './applied-marker.js';
import { AuthorityDocument } from './authority-document.js';

const reducer = await loadReducer(
  await readFile(new URL('../../reducers/todo/dist/reducer.wasm', import.meta.url)),
);
let docs = 0;

function mutation(timelineId: string, lsn: number, body: object): MutationEnvelope {
  return {
    timelineId,
    lsn,
    timestamp: 1_700_000_000_000 + lsn,
    payload: new TextEncoder().encode(JSON.stringify(body)),
  };
}
const create = (timelineId: string, lsn: number, id: string, title = id) =>
  mutation(timelineId, lsn, { type: 'create', id, title });

test('a push continues its timeline: duplicates are skipped, and a gap is refused and changes nothing', async () => {
  const doc = await AuthorityDocument.open({ docId: `authority-${++docs}`, reducer });
  const first = await doc.push([{ timelineId: 'a', mutations: [create('a', 0, 'x'), create('a', 1, 'y')] }]);
  expect(first.results[0]).toMatchObject({ status: 'accepted', appliedLsn: 1 });
  const again = await doc.push([{ timelineId: 'a', mutations: [create('a', 1, 'y'), create('a', 2, 'z')] }]);
  expect(again.results[0]).toMatchObject({
    status: 'accepted',
    appliedLsn: 2,
    outcomes: [{ lsn: 2, ok: true }],
  });
  const hash = await doc.pageHash();
  const gap = await doc.push([{ timelineId: 'a', mutations: [create('a', 5, 'w')] }]);
  expect(gap.results[0]).toMatchObject({ status: 'refused', kind: 'gap', expectedLsn: 3 });
  expect(gap.frameLsn).toBeUndefined();
  expect(await doc.pageHash()).toBe(hash);
  await doc.close();
});

test('a rejected mutation advances the marker and never blocks the ones behind it', async () => {
  const doc = await AuthorityDocument.open({ docId: `authority-${++docs}`, reducer });
  const report = await doc.push([
    {
      timelineId: 'a',
      mutations: [
        create('a', 0, 'x'),
        mutation('a', 1, { type: 'toggle', id: 'ghost' }),
        create('a', 2, 'z'),
      ],
    },
  ]);
  expect(report.results[0]).toMatchObject({
    status: 'accepted',
    appliedLsn: 2,
    outcomes: [
      { lsn: 0, ok: true },
      { lsn: 1, ok: false },
      { lsn: 2, ok: true },
    ],
  });
  expect(doc.query('SELECT id FROM todos ORDER BY id')).toEqual([{ id: 'x' }, { id: 'z' }]);
  await doc.close();
});

test('the pushes of one call share one transaction (one frame), and the markers travel in the pages', async () => {
  const frames: number[] = [];
  const doc = await AuthorityDocument.open({
    docId: `authority-${++docs}`,
    reducer,
    onFrame: (f) => frames.push(f.lsn),
  });
  const migrated = frames.length;
  const report = await doc.push([
    { timelineId: 'a', mutations: [create('a', 0, 'x')] },
    { timelineId: 'b', mutations: [create('b', 0, 'y'), create('b', 1, 'x')] },
    { timelineId: 'c', mutations: [create('c', 3, 'gap')] },
    { timelineId: 'a', mutations: [create('a', 1, 'w')] },
  ]);
  expect(frames.length).toBe(migrated + 1);
  expect(report.frameLsn).toBe(frames.at(-1));
  expect(report.results.map((r) => r.status)).toEqual(['accepted', 'accepted', 'refused', 'accepted']);
  expect(doc.query(`SELECT timeline_id, applied_lsn FROM ${APPLIED_TABLE} ORDER BY timeline_id`)).toEqual([
    { timeline_id: 'a', applied_lsn: 1 },
    { timeline_id: 'b', applied_lsn: 1 },
  ]);
  await doc.close();
});

test('malformed pushes are refused one by one, each with its reason, and change nothing', async () => {
  const doc = await AuthorityDocument.open({ docId: `authority-${++docs}`, reducer });
  const hash = await doc.pageHash();
  const report = await doc.push([
    { timelineId: '', mutations: [] },
    { timelineId: 'a', mutations: [create('b', 0, 'x')] },
    { timelineId: 'a', mutations: [create('a', 0, 'x'), create('a', 2, 'y')] },
    { timelineId: 'a', mutations: [{ ...create('a', 0, 'x'), timestamp: Number.NaN }] },
    { timelineId: 'a', mutations: [{ ...create('a', 0, 'x'), lsn: -1 }] },
  ]);
  for (const result of report.results)
    expect(result).toMatchObject({ status: 'refused', kind: 'invalid-mutation' });
  expect(await doc.pageHash()).toBe(hash);
  await doc.close();
});

test('a reopened authority goes on from its journal: same pages, same markers, frame lsns continue', async () => {
  const storage = new MemoryByteStore();
  const first = await AuthorityDocument.open({
    docId: `authority-${++docs}`,
    reducer,
    storage,
    checkpointEvery: 4,
  });
  for (let lsn = 0; lsn < 10; lsn++)
    await first.push([{ timelineId: 'a', mutations: [create('a', lsn, `t${lsn}`)] }]);
  const hash = await first.pageHash();
  const next = first.nextFrameLsn;
  await first.close();
  expect((await storage.list()).some((f) => f.startsWith('pages.'))).toBe(true);

  const second = await AuthorityDocument.open({ docId: `authority-${++docs}`, reducer, storage });
  expect(await second.pageHash()).toBe(hash);
  expect(second.nextFrameLsn).toBe(next);
  expect(second.appliedMarkers.get('a')).toBe(9);
  const report = await second.push([{ timelineId: 'a', mutations: [create('a', 10, 't10')] }]);
  expect(report.frameLsn).toBe(next);
  await second.close();
});

test('a push whose frame cannot be synced fails, and the document refuses everything after it', async () => {
  const storage = new FaultyByteStore({ mode: 'fail', at: 'sync', k: 2 });
  const doc = await AuthorityDocument.open({ docId: `authority-${++docs}`, reducer, storage });
  await expect(doc.push([{ timelineId: 'a', mutations: [create('a', 0, 'x')] }])).rejects.toMatchObject({
    kind: 'storage-failed',
  });
  await expect(doc.push([{ timelineId: 'a', mutations: [create('a', 0, 'x')] }])).rejects.toMatchObject({
    kind: 'storage-failed',
  });
});
