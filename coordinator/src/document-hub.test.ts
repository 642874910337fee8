// Group commit claims about DocumentHub, over a document of its own with a journal whose syncs the test
// holds or fails (the pool's workers would hide them).
import { readFile } from 'node:fs/promises';
import { MemoryByteStore, type WireFrame } from '@tandem/runtime';
import { loadReducer } from '@tandem/runtime/prepare';
import { beforeAll, expect, test } from 'vitest';
import { AuthorityDocument, type PushRequest, type PushResult } from './authority/authority-document.js';
import { type CatchUpReply, catchUp } from './catch-up.js';
import { DocumentHub, type HubMember, type HubPool } from './document-hub.js';

const reducer = await loadReducer(
  new Uint8Array(await readFile(new URL('../../reducers/todo/dist/reducer.wasm', import.meta.url))),
);

/** A journal whose syncs wait while `held`, and throw while `failing`. */
class GatedStore extends MemoryByteStore {
  syncs = 0;
  waiting = 0;
  failing = false;
  #release: (() => void) | undefined;
  #gate: Promise<void> = Promise.resolve();

  hold(): void {
    this.#gate = new Promise((resolve) => {
      this.#release = resolve;
    });
  }

  open(): void {
    this.#release?.();
  }

  override async sync(name: string): Promise<void> {
    this.waiting++;
    await this.#gate;
    this.waiting--;
    if (this.failing) throw new Error('injected: the disk is gone');
    this.syncs++;
    return super.sync(name);
  }
}

/** The pool's part, for one document in this process. */
function poolOf(document: AuthorityDocument): HubPool {
  return {
    push: (_docId: string, requests: readonly PushRequest[]) => document.push(requests),
    catchUp: (_docId, request) => catchUp(document, request),
    hold: () => () => undefined,
    release: async () => undefined,
  };
}

type Heard =
  | { readonly what: 'frame'; readonly lsn: number; readonly message: Uint8Array }
  | { readonly what: 'pushed'; readonly result: PushResult; readonly frameLsn: number | undefined }
  | { readonly what: 'failed' };

class Member implements HubMember {
  readonly heard: Heard[] = [];
  caughtUp(_reply: CatchUpReply): void {}
  frame(frame: WireFrame, message: Uint8Array): void {
    this.heard.push({ what: 'frame', lsn: frame.lsn, message });
  }
  pushed(result: PushResult, frameLsn: number | undefined): void {
    this.heard.push({ what: 'pushed', result, frameLsn });
  }
  failed(): void {
    this.heard.push({ what: 'failed' });
  }
}

const create = (timelineId: string, lsn: number, id: string): PushRequest => ({
  timelineId,
  mutations: [
    {
      timelineId,
      lsn,
      timestamp: 1_700_000_000_000,
      payload: new TextEncoder().encode(JSON.stringify({ type: 'create', id, title: 'x' })),
    },
  ],
});

let store: GatedStore;
let document: AuthorityDocument;
let hub: DocumentHub;
let members: Member[];

beforeAll(async () => {
  store = new GatedStore();
  document = await AuthorityDocument.open({ docId: 'group', reducer, storage: store });
  hub = new DocumentHub('group', poolOf(document), () => undefined);
  members = Array.from({ length: 10 }, () => new Member());
  for (const member of members) hub.join(member, { timelineId: 'watcher', journalId: null, cursor: 0 });
  await hub.settled();
});

/** A sync's mark is written a turn after it (runtime sync-marks.ts invariant 6): lets it happen. */
const marksWritten = () => new Promise((resolve) => setTimeout(resolve, 5));

test('pushes of 10 clients that arrive together are committed in one transaction, encoded once, and each gets its own verdict', async () => {
  // The syncs of one push alone, in the same state (its files exist): the group must take no more.
  hub.push(members[0]!, create('t0', 0, 'alone'));
  await hub.settled();
  await marksWritten();
  let before = store.syncs;
  hub.push(members[0]!, create('t0', 1, 'alone again'));
  await hub.settled();
  await marksWritten();
  const syncsOfOne = store.syncs - before;
  const frameBefore = document.nextFrameLsn;
  for (const member of members) member.heard.length = 0;

  before = store.syncs;
  members.forEach((member, i) => {
    const timeline = `t${i + 1}`;
    if (i === 3) {
      // Rejected by the reducer: its marker still advances, the others go on.
      hub.push(member, {
        ...create(timeline, 0, 'x'),
        mutations: [
          { ...create(timeline, 0, 'x').mutations[0]!, payload: new TextEncoder().encode('not json') },
        ],
      });
    } else if (i === 7)
      hub.push(member, create(timeline, 5, 'gap')); // refused: the timeline starts at 0
    else hub.push(member, create(timeline, 0, `todo-${i}`));
  });
  await hub.settled();
  await marksWritten();

  expect(document.nextFrameLsn).toBe(frameBefore + 1);
  expect(store.syncs - before).toBe(syncsOfOne);
  const frames = members.map((m) => m.heard.filter((h) => h.what === 'frame'));
  for (const heard of frames) expect(heard).toHaveLength(1);
  // One encoding for all: every member sends the very same bytes.
  expect(frames[0]![0]).toMatchObject({ message: expect.any(Uint8Array) });
  expect(new Set(frames.map((heard) => (heard[0] as { message: Uint8Array }).message)).size).toBe(1);
  members.forEach((member, i) => {
    const verdicts = member.heard.filter((h) => h.what === 'pushed');
    expect(verdicts).toHaveLength(1);
    const verdict = verdicts[0] as Extract<Heard, { what: 'pushed' }>;
    // The frame reaches a member before its verdict.
    expect(member.heard.map((h) => h.what)).toEqual(['frame', 'pushed']);
    if (i === 7) {
      expect(verdict.result).toMatchObject({ status: 'refused', kind: 'gap', expectedLsn: 0 });
      return;
    }
    expect(verdict.frameLsn).toBe(frameBefore);
    expect(verdict.result).toMatchObject({
      status: 'accepted',
      timelineId: `t${i + 1}`,
      appliedLsn: 0,
      outcomes: [i === 3 ? { lsn: 0, ok: false } : { lsn: 0, ok: true }],
    });
  });
});

test('a push is never acknowledged, nor its frame sent, before its group is durable; a failed sync acknowledges none', async () => {
  for (const member of members) member.heard.length = 0;
  store.hold();
  members.forEach((member, i) => {
    hub.push(member, create(`t${i + 1}`, 1, `held-${i}`));
  });
  while (store.waiting === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  await new Promise((resolve) => setTimeout(resolve, 50));
  for (const member of members) expect(member.heard).toEqual([]);
  store.open();
  await hub.settled();
  for (const member of members) expect(member.heard.map((h) => h.what)).toEqual(['frame', 'pushed']);

  for (const member of members) member.heard.length = 0;
  store.failing = true;
  members.forEach((member, i) => {
    hub.push(member, create(`t${i + 1}`, 2, `lost-${i}`));
  });
  await hub.settled();
  // Nobody hears of the frame or of a verdict: each is told the document failed.
  for (const member of members) expect(member.heard).toEqual([{ what: 'failed' }]);
});

/** A hub over a new document of its own, with three members. */
async function freshHub(name: string) {
  const gated = new GatedStore();
  const doc = await AuthorityDocument.open({ docId: name, reducer, storage: gated });
  const own = new DocumentHub(name, poolOf(doc), () => undefined);
  const watchers = Array.from({ length: 3 }, () => new Member());
  for (const member of watchers) own.join(member, { timelineId: 'watcher', journalId: null, cursor: 0 });
  await own.settled();
  return { gated, doc, hub: own, watchers };
}

const todos = (doc: AuthorityDocument) => Number(doc.query('SELECT count(*) AS n FROM todos')[0]?.n);

test("a step is applied while the step before it syncs, and every member hears the frames, then each pusher its verdict, in the steps' order", async () => {
  const { gated, doc, hub: own, watchers } = await freshHub('pipeline');
  const head = doc.nextFrameLsn;
  gated.hold();
  own.push(watchers[0]!, create('p0', 0, 'first'));
  while (gated.waiting === 0) await new Promise((resolve) => setTimeout(resolve, 2));
  // The first step's frame is syncing: the second step goes out and is applied meanwhile.
  own.push(watchers[1]!, create('p1', 0, 'second'));
  while (todos(doc) < 2) await new Promise((resolve) => setTimeout(resolve, 2));
  for (const member of watchers) expect(member.heard).toEqual([]);
  gated.open();
  await own.settled();
  for (const [i, member] of watchers.entries()) {
    const heard = member.heard.map((h) => (h.what === 'frame' ? `frame ${h.lsn}` : h.what));
    const frames = [`frame ${head}`, `frame ${head + 1}`];
    if (i === 0) expect(heard).toEqual([frames[0], 'pushed', frames[1]]);
    else if (i === 1) expect(heard).toEqual([...frames, 'pushed']);
    else expect(heard).toEqual(frames);
  }
  const verdict = watchers[1]!.heard.find((h) => h.what === 'pushed');
  expect(verdict).toMatchObject({ frameLsn: head + 1, result: { status: 'accepted', appliedLsn: 0 } });
});

test('when a step fails while the next is out, every member is told once, and neither step is acknowledged', async () => {
  const { gated, doc, hub: own, watchers } = await freshHub('pipeline-failure');
  gated.hold();
  own.push(watchers[0]!, create('p0', 0, 'first'));
  while (gated.waiting === 0) await new Promise((resolve) => setTimeout(resolve, 2));
  own.push(watchers[1]!, create('p1', 0, 'second'));
  while (todos(doc) < 2) await new Promise((resolve) => setTimeout(resolve, 2));
  gated.failing = true;
  gated.open();
  await own.settled();
  for (const member of watchers) expect(member.heard).toEqual([{ what: 'failed' }]);
});

test('a catch-up that fails tells every client waiting to join, not only the one it was for', async () => {
  const refusal = new Error('injected: the document cannot open here');
  const failing: HubPool = {
    push: () => Promise.reject(refusal),
    catchUp: () => Promise.reject(refusal),
    hold: () => () => undefined,
    release: async () => undefined,
  };
  const lonely = new DocumentHub('refused', failing, () => undefined);
  const joiners = Array.from({ length: 3 }, () => new Member());
  for (const member of joiners) lonely.join(member, { timelineId: 'w', journalId: null, cursor: 0 });
  await lonely.settled();
  expect(joiners.map((member) => member.heard)).toEqual(joiners.map(() => [{ what: 'failed' }]));
});
