import { readFile } from 'node:fs/promises';
import {
  APPLIED_TABLE,
  decodePageImage,
  FaultyByteStore,
  type Frame,
  MemoryByteStore,
  type MutationEnvelope,
  type PageImage,
  PageStore,
  PageVersions,
  REJECTED_TABLE,
  REJECTIONS_KEPT,
} from '@tandem/runtime';
import { loadReducer } from '@tandem/runtime/prepare';
import { expect, test } from 'vitest';
import { AuthorityDocument, type KeptFrame, type PushResult } from './authority-document.js';

/** The pages a receiver holding `image` (or nothing) gets from the wire forms of `kept`. */
async function receive(image: PageImage | undefined, kept: readonly KeptFrame[]): Promise<PageStore> {
  const store = new PageStore();
  if (image !== undefined) store.applyFrame(image);
  for (const { frame, wire } of kept) {
    const decoded = await new PageVersions((pgno) => store.readBase(pgno)).decode(wire);
    expect(decoded).toEqual(frame);
    store.applyFrame(decoded);
  }
  return store;
}

const reducer = await loadReducer(
  await readFile(new URL('../../../reducers/todo/dist/reducer.wasm', import.meta.url)),
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
  // Every sync after the open's (the migration frame's mark is written a turn after it) fails.
  const storage = new FaultyByteStore({ mode: 'fail', at: 'sync', k: 1 });
  storage.syncs = Number.MIN_SAFE_INTEGER;
  const doc = await AuthorityDocument.open({ docId: `authority-${++docs}`, reducer, storage });
  await new Promise((resolve) => setTimeout(resolve, 5));
  storage.syncs = 0;
  await expect(doc.push([{ timelineId: 'a', mutations: [create('a', 0, 'x')] }])).rejects.toMatchObject({
    kind: 'storage-failed',
  });
  await expect(doc.push([{ timelineId: 'a', mutations: [create('a', 0, 'x')] }])).rejects.toMatchObject({
    kind: 'storage-failed',
  });
});

test('a history keeps its journalId across reopens; a new history, or one in memory, gets a new one', async () => {
  const storage = new MemoryByteStore();
  const first = await AuthorityDocument.open({ docId: `authority-${++docs}`, reducer, storage });
  const journalId = first.journalId;
  await first.push([{ timelineId: 'a', mutations: [create('a', 0, 'x')] }]);
  await first.close();
  const again = await AuthorityDocument.open({ docId: `authority-${docs}`, reducer, storage });
  expect(again.journalId).toBe(journalId);
  await again.close();
  const other = await AuthorityDocument.open({
    docId: `authority-${++docs}`,
    reducer,
    storage: new MemoryByteStore(),
  });
  const inMemory = await AuthorityDocument.open({ docId: `authority-${++docs}`, reducer });
  expect(new Set([journalId, other.journalId, inMemory.journalId]).size).toBe(3);
  await other.close();
  await inMemory.close();
});

test('a push report carries its durable frame, and the frames since a cursor rebuild the same pages', async () => {
  const reported: Frame[] = [];
  const doc = await AuthorityDocument.open({
    docId: `authority-${++docs}`,
    reducer,
    onFrame: (f) => reported.push(f),
  });
  for (let lsn = 0; lsn < 5; lsn++) {
    const report = await doc.push([{ timelineId: 'a', mutations: [create('a', lsn, `t${lsn}`)] }]);
    expect(report.frame?.lsn).toBe(reported.at(-1)?.lsn);
    expect(report.frame?.lsn).toBe(report.frameLsn);
  }
  const duplicate = await doc.push([{ timelineId: 'a', mutations: [create('a', 4, 't4')] }]);
  expect(duplicate.frame).toBeUndefined();

  const all = doc.framesSince(0);
  expect(all.status).toBe('frames');
  const frames = all.status === 'frames' ? all.frames : [];
  expect(frames.map((f) => f.frame.lsn)).toEqual(reported.map((f) => f.lsn));
  expect(await (await receive(undefined, frames)).hash()).toBe(await doc.pageHash());
  expect(doc.framesSince(doc.nextFrameLsn)).toEqual({ status: 'frames', frames: [] });
  expect(doc.framesSince(doc.nextFrameLsn + 1)).toEqual({ status: 'behind' });
  await doc.close();
});

test('after a checkpoint the frames before it are gone: an old cursor is behind, and a snapshot plus the kept frames rebuild the pages', async () => {
  for (const storage of [new MemoryByteStore(), undefined]) {
    const doc = await AuthorityDocument.open({
      docId: `authority-${++docs}`,
      reducer,
      checkpointEvery: 4,
      ...(storage && { storage }),
    });
    for (let lsn = 0; lsn < 10; lsn++)
      await doc.push([{ timelineId: 'a', mutations: [create('a', lsn, `t${lsn}`)] }]);
    expect(doc.framesSince(0)).toEqual({ status: 'behind' });
    const snapshot = await doc.snapshot();
    expect(snapshot.frameCount).toBeLessThanOrEqual(doc.nextFrameLsn);
    const image = await decodePageImage(snapshot.bytes);
    expect(image.frameCount).toBe(snapshot.frameCount);
    const kept = doc.framesSince(image.frameCount);
    expect(kept.status).toBe('frames');
    const store = await receive(image, kept.status === 'frames' ? kept.frames : []);
    expect(await store.hash()).toBe(await doc.pageHash());
    expect(await doc.snapshot()).toBe(snapshot);
    await doc.close();
  }
});

test('frames recovered from the journal carry wire forms replayed over its checkpoint', async () => {
  const storage = new MemoryByteStore();
  const docId = `authority-${++docs}`;
  const doc = await AuthorityDocument.open({ docId, reducer, checkpointEvery: 4, storage });
  let lsn = 0;
  const push = () => doc.push([{ timelineId: 'a', mutations: [create('a', lsn, `t${lsn++}`)] }]);
  // Up to a checkpoint: the snapshot is then the checkpoint's image.
  do await push();
  while (doc.framesSince(doc.nextFrameLsn - 1).status !== 'behind');
  const image = await decodePageImage((await doc.snapshot()).bytes);
  await push();
  await push();
  await doc.close();
  const reopened = await AuthorityDocument.open({ docId, reducer, checkpointEvery: 4, storage });
  const recovered = reopened.framesSince(image.frameCount);
  expect(recovered.status === 'frames' && recovered.frames.length).toBe(2);
  const store = await receive(image, recovered.status === 'frames' ? recovered.frames : []);
  expect(await store.hash()).toBe(await reopened.pageHash());
  await reopened.close();
});

test('a snapshot taken while a push is being synced holds the pages of durable frames only', async () => {
  const doc = await AuthorityDocument.open({ docId: `authority-${++docs}`, reducer });
  const hashBefore = await doc.pageHash();
  const pushing = doc.push([{ timelineId: 'a', mutations: [create('a', 0, 'x')] }]);
  const snapshot = doc.snapshot();
  const report = await pushing;
  const image = await decodePageImage((await snapshot).bytes);
  expect(image.frameCount).toBe((report.frameLsn ?? -1) + 1);
  expect(image.hash).toBe(await doc.pageHash());
  expect(image.hash).not.toBe(hashBefore);
  await doc.close();
});

test('a refused push reports the marker it left unchanged', async () => {
  const doc = await AuthorityDocument.open({ docId: `authority-${++docs}`, reducer });
  await doc.push([{ timelineId: 'a', mutations: [create('a', 0, 'x'), create('a', 1, 'y')] }]);
  const report = await doc.push([
    { timelineId: 'a', mutations: [create('a', 7, 'z')] },
    { timelineId: 'b', mutations: [create('a', 0, 'w')] },
  ]);
  expect(report.results).toMatchObject([
    { status: 'refused', kind: 'gap', appliedLsn: 1, expectedLsn: 2 },
    { status: 'refused', kind: 'invalid-mutation', appliedLsn: -1 },
  ]);
  await doc.close();
});

test('rejections are recorded in the pages with their reasons, the last REJECTIONS_KEPT per timeline', async () => {
  const doc = await AuthorityDocument.open({ docId: `authority-${++docs}`, reducer });
  const ghosts = Array.from({ length: REJECTIONS_KEPT + 5 }, (_, lsn) =>
    mutation('a', lsn, { type: 'toggle', id: 'ghost' }),
  );
  // A push holds at most MAX_PUSH_MUTATIONS: the ghosts go in pushes of 500, taken in one transaction.
  const all = [...ghosts, create('a', ghosts.length, 'real')];
  const requests = [];
  for (let i = 0; i < all.length; i += 500)
    requests.push({ timelineId: 'a', mutations: all.slice(i, i + 500) });
  await doc.push(requests);
  const rows = doc.query(
    `SELECT count(*) AS n, min(lsn) AS first, max(lsn) AS last FROM ${REJECTED_TABLE} WHERE timeline_id = 'a'`,
  );
  expect(rows).toEqual([{ n: REJECTIONS_KEPT, first: 5, last: REJECTIONS_KEPT + 4 }]);
  const [row] = doc.query(`SELECT reason FROM ${REJECTED_TABLE} WHERE lsn = 7`);
  expect(String(row?.reason)).toMatch(/ghost/);
  await doc.close();
});

test('a batch that would grow the document past its quota is rejected whole, its markers advance, and smaller work goes on', async () => {
  const maxDocumentBytes = 64 * 1024;
  const doc = await AuthorityDocument.open({ docId: `authority-${++docs}`, reducer, maxDocumentBytes });
  const big = (lsn: number) => create('a', lsn, `t${lsn}`, 'x'.repeat(200));
  let lsn = 0;
  let rejected: PushResult | undefined;
  let before = 0;
  while (rejected === undefined && lsn < 2000) {
    before = Number(doc.query('SELECT count(*) AS n FROM todos')[0]?.n);
    const report = await doc.push([
      { timelineId: 'a', mutations: Array.from({ length: 50 }, (_, i) => big(lsn + i)) },
    ]);
    lsn += 50;
    const result = report.results[0]!;
    if (result.status === 'accepted' && result.outcomes.some((o) => !o.ok)) rejected = result;
  }
  expect(rejected).toMatchObject({ status: 'accepted', appliedLsn: lsn - 1 });
  if (rejected?.status !== 'accepted') return;
  const reason = `document size quota exceeded (${maxDocumentBytes} bytes)`;
  expect(rejected.outcomes.every((o) => !o.ok && o.reason === reason)).toBe(true);
  // Nothing of the batch stayed; only its markers and rejection reasons were recorded.
  expect(Number(doc.query('SELECT count(*) AS n FROM todos')[0]?.n)).toBe(before);
  const after = await doc.push([
    { timelineId: 'a', mutations: [mutation('a', lsn, { type: 'toggle', id: 't0' })] },
  ]);
  expect(after.results[0]).toMatchObject({ status: 'accepted', outcomes: [{ lsn, ok: true }] });
  await doc.close();
});

/** A store whose syncs wait, while `holding`, until `release` lets the oldest one go (or fail). */
class HeldSyncStore extends MemoryByteStore {
  holding = false;
  readonly #held: { go: () => void; fail: (error: Error) => void }[] = [];

  override async sync(name: string): Promise<void> {
    if (this.holding) {
      await new Promise<void>((go, fail) => this.#held.push({ go, fail }));
    }
    return super.sync(name);
  }

  get waiting(): number {
    return this.#held.length;
  }

  /** Lets the oldest held sync run (or fail with `error`); false when none is held. */
  release(error?: Error): boolean {
    const held = this.#held.shift();
    if (held === undefined) return false;
    if (error === undefined) held.go();
    else held.fail(error);
    return true;
  }
}

const turns = (n: number) => new Promise((resolve) => setTimeout(resolve, n));

test('a push is applied while the frame before it syncs, reported in call order once its own frame is durable, and a crash at any point keeps every acknowledged push', async () => {
  const storage = new HeldSyncStore();
  const docId = `authority-${++docs}`;
  const doc = await AuthorityDocument.open({ docId, reducer, storage });
  const head = doc.nextFrameLsn;
  storage.holding = true;
  const acknowledged: string[] = [];
  const pushes = ['a', 'b', 'c'].map((timelineId) =>
    doc.push([{ timelineId, mutations: [create(timelineId, 0, `${timelineId}0`)] }]).then((report) => {
      acknowledged.push(timelineId);
      return report;
    }),
  );
  await turns(20);
  // All three are applied (the later ones while the first one's sync is held), none is acknowledged, and
  // nothing outside the document shows them yet.
  expect(Number(doc.query('SELECT count(*) AS n FROM todos')[0]?.n)).toBe(3);
  expect(acknowledged).toEqual([]);
  expect(doc.nextFrameLsn).toBe(head);
  expect(doc.appliedMarkers.has('a')).toBe(false);
  expect(doc.framesSince(head)).toEqual({ status: 'frames', frames: [] });
  const crashes: Promise<void>[] = [];
  let seen = 0;
  while (acknowledged.length < 3) {
    expect(storage.release(), 'a sync to release while pushes wait').toBe(true);
    await turns(2);
    if (acknowledged.length === seen) continue;
    seen = acknowledged.length;
    // A crash now, unsynced bytes lost: every push acknowledged so far is in the journal.
    const image = storage.crashImage({ keepUnsynced: false });
    const expected = [...acknowledged];
    crashes.push(
      (async () => {
        const reopened = await AuthorityDocument.open({ docId, reducer, storage: image });
        for (const timelineId of expected) expect(reopened.appliedMarkers.get(timelineId)).toBe(0);
        expect(reopened.nextFrameLsn).toBeGreaterThanOrEqual(head + expected.length);
        await reopened.close();
      })(),
    );
  }
  storage.holding = false;
  while (storage.release());
  await Promise.all(crashes);
  expect(acknowledged).toEqual(['a', 'b', 'c']);
  const frames = (await Promise.all(pushes)).map((report) => report.frameLsn);
  expect(frames).toEqual([head, head + 1, head + 2]);
  expect(doc.appliedMarkers.get('c')).toBe(0);
  await doc.close();
});

test('when a sync fails, the push it held and every push applied behind it fail, in call order, and nothing after is taken', async () => {
  const storage = new HeldSyncStore();
  const doc = await AuthorityDocument.open({ docId: `authority-${++docs}`, reducer, storage });
  const head = doc.nextFrameLsn;
  storage.holding = true;
  const settled: string[] = [];
  const pushes = ['a', 'b'].map((timelineId) =>
    doc.push([{ timelineId, mutations: [create(timelineId, 0, `${timelineId}0`)] }]).then(
      () => settled.push(`${timelineId} ok`),
      (error: unknown) => settled.push(`${timelineId} ${(error as { kind?: string }).kind}`),
    ),
  );
  await turns(20);
  expect(Number(doc.query('SELECT count(*) AS n FROM todos')[0]?.n)).toBe(2);
  storage.release(new Error('disk gone'));
  storage.holding = false;
  while (storage.release());
  await Promise.all(pushes);
  expect(settled).toEqual(['a storage-failed', 'b storage-failed']);
  expect(doc.nextFrameLsn).toBe(head);
  await expect(doc.push([{ timelineId: 'c', mutations: [create('c', 0, 'c0')] }])).rejects.toMatchObject({
    kind: 'storage-failed',
  });
});
