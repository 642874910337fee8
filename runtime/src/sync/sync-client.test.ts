import { expect, test, vi } from 'vitest';
import { TandemError } from '../errors.js';
import type { Frame } from '../frame.js';
import { MAX_PUSH_MUTATIONS, MAX_PUSHES_IN_FLIGHT } from '../protocol/limits.js';
import { PageVersions } from '../protocol/page-delta.js';
import { PAGE_SIZE } from '../vfs/page-store.js';
import { RecordingTarget, scriptedClient, scriptedFrame, scriptedMutation } from './testing/scripted-sync.js';

const HASH = 'ab'.repeat(32);
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
const frame = scriptedFrame;
const mutation = scriptedMutation;

function setup() {
  const target = new RecordingTarget();
  return { ...scriptedClient(target, { reducerHash: HASH }), target };
}

test('hello carries the base cursor, and once live the mutations after the coordinator marker are pushed', async () => {
  const { sockets, target, client } = setup();
  target.base = { journalId: 'j1', cursor: 3 };
  target.pending = [mutation(4), mutation(5), mutation(6)];
  client.start();
  const socket = sockets[0]!;
  socket.open();
  expect(socket.sent[0]).toMatchObject({
    type: 'hello',
    docId: 'doc',
    timelineId: 'me',
    timelineSecret: 'c'.repeat(64),
    journalId: 'j1',
    cursor: 3,
    reducerHash: HASH,
  });
  socket.say({ type: 'welcome', journalId: 'j1', head: 3, reducerHash: HASH, appliedLsn: 4 });
  await tick();
  expect(client.state).toBe('live');
  expect(socket.sent[1]).toMatchObject({ type: 'push', mutations: [{ lsn: 5 }, { lsn: 6 }] });
  target.pending.push(mutation(7));
  client.pendingChanged();
  expect(socket.sent[2]).toMatchObject({ type: 'push', mutations: [{ lsn: 7 }] });
  client.close();
});

test('frames reach the document one burst at a time, after more: false, and catch-up ends at the head', async () => {
  const { sockets, target, client } = setup();
  client.start();
  const socket = sockets[0]!;
  socket.open();
  socket.say({ type: 'welcome', journalId: 'j1', head: 3, reducerHash: HASH, appliedLsn: -1 });
  await tick();
  expect(client.state).toBe('catching-up');
  socket.say({ type: 'frames', frames: [frame(0), frame(1)], more: true });
  await tick();
  expect(target.bursts).toEqual([]);
  socket.say({ type: 'frames', frames: [frame(2)], more: false });
  await vi.waitFor(() => expect(target.bursts).toEqual([[0, 1, 2]]));
  expect(client.state).toBe('live');
  socket.say({ type: 'frames', frames: [frame(3)], more: false });
  await vi.waitFor(() => expect(target.bursts).toEqual([[0, 1, 2], [3]]));
  client.close();
});

test('live frames that pile up behind each other are rebased once, and a push result behind them is told after that rebase', async () => {
  const { sockets, target, client } = setup();
  target.pending = [mutation(0)];
  client.start();
  const socket = sockets[0]!;
  socket.open();
  socket.say({ type: 'welcome', journalId: 'j1', head: 3, reducerHash: HASH, appliedLsn: -1 });
  socket.say({ type: 'frames', frames: [frame(0), frame(1), frame(2)], more: false });
  await vi.waitFor(() => expect(client.state).toBe('live'));
  const burstsWhenPushed: number[][][] = [];
  const pushed = target.pushed.bind(target);
  target.pushed = (appliedLsn, rejected) => {
    burstsWhenPushed.push([...target.bursts]);
    pushed(appliedLsn, rejected);
  };
  // Three steps' frames and the result of this client's push arrive before the client reads any.
  for (const lsn of [3, 4, 5]) socket.say({ type: 'frames', frames: [frame(lsn)], more: false });
  socket.say({ type: 'push-result', appliedLsn: 0, frameLsn: 5, rejected: [], refused: null });
  await vi.waitFor(() => expect(target.pushes).toHaveLength(1));
  expect(target.bursts).toEqual([
    [0, 1, 2],
    [3, 4, 5],
  ]);
  expect(burstsWhenPushed).toEqual([
    [
      [0, 1, 2],
      [3, 4, 5],
    ],
  ]);
  // A frame alone is rebased at once, as before.
  socket.say({ type: 'frames', frames: [frame(6)], more: false });
  await vi.waitFor(() => expect(target.bursts).toEqual([[0, 1, 2], [3, 4, 5], [6]]));
  client.close();
});

test('a frame out of order drops the connection, and the next hello asks from the base cursor again', async () => {
  const { sockets, target, client } = setup();
  client.start();
  sockets[0]!.open();
  sockets[0]!.say({ type: 'welcome', journalId: 'j1', head: 5, reducerHash: HASH, appliedLsn: -1 });
  sockets[0]!.say({ type: 'frames', frames: [frame(1)], more: false });
  await tick();
  expect(sockets[0]!.closedWith).toMatch(/frame 1 arrived where 0 was expected/);
  expect(target.bursts).toEqual([]);
  await new Promise((resolve) => setTimeout(resolve, 10));
  sockets[1]!.open();
  expect(sockets[1]!.sent[0]).toMatchObject({ type: 'hello', cursor: 0 });
  client.close();
});

test('a gap refusal rewinds the push to the lsn the coordinator expects', async () => {
  const { sockets, target, client } = setup();
  target.pending = [mutation(0), mutation(1), mutation(2)];
  client.start();
  const socket = sockets[0]!;
  socket.open();
  socket.say({ type: 'welcome', journalId: 'j1', head: 0, reducerHash: HASH, appliedLsn: 1 });
  await tick();
  expect(socket.sent[1]).toMatchObject({ type: 'push', mutations: [{ lsn: 2 }] });
  socket.say({
    type: 'push-result',
    appliedLsn: -1,
    frameLsn: null,
    rejected: [],
    refused: { kind: 'gap', message: 'continues at 0', expectedLsn: 0 },
  });
  await tick();
  expect(socket.sent[2]).toMatchObject({ type: 'push', mutations: [{ lsn: 0 }, { lsn: 1 }, { lsn: 2 }] });
  client.close();
});

test('malformed bytes from the coordinator drop the connection; nothing throws', async () => {
  const { sockets, client } = setup();
  client.start();
  sockets[0]!.open();
  sockets[0]!.sayBytes(new Uint8Array([0xc1, 0xff, 0x00]));
  await tick();
  expect(sockets[0]!.closedWith).toMatch(/not a message/);
  expect(client.state).toBe('offline');
  client.close();
  expect(client.state).toBe('closed');
});

test('rejections reported by push-result reach the document', async () => {
  const { sockets, target, client } = setup();
  target.pending = [mutation(0)];
  client.start();
  sockets[0]!.open();
  sockets[0]!.say({ type: 'welcome', journalId: 'j1', head: 0, reducerHash: HASH, appliedLsn: -1 });
  sockets[0]!.say({
    type: 'push-result',
    appliedLsn: 0,
    frameLsn: 0,
    rejected: [{ lsn: 0, reason: 'no' }],
    refused: null,
  });
  await tick();
  expect(target.pushes).toEqual([{ appliedLsn: 0, rejected: [{ lsn: 0, reason: 'no' }] }]);
  client.close();
});

test('a coordinator running another reducer fails the client for good, saying which reducer to load', async () => {
  const { sockets, client } = setup();
  client.start();
  sockets[0]!.open();
  sockets[0]!.say({
    type: 'welcome',
    journalId: 'j1',
    head: 0,
    reducerHash: 'cd'.repeat(32),
    appliedLsn: -1,
  });
  await tick();
  expect(client.state).toBe('failed');
  expect(client.error?.message).toMatch(/coordinator runs reducer cdcd/);
  await new Promise((resolve) => setTimeout(resolve, 10));
  expect(sockets).toHaveLength(1);
});

test('a gap the client cannot fill (the coordinator lost what it took) fails the client instead of pushing in a loop', async () => {
  const { sockets, target, client } = setup();
  target.pending = [mutation(5), mutation(6)];
  client.start();
  const socket = sockets[0]!;
  socket.open();
  socket.say({ type: 'welcome', journalId: 'j1', head: 0, reducerHash: HASH, appliedLsn: 4 });
  await tick();
  socket.say({
    type: 'push-result',
    appliedLsn: -1,
    frameLsn: null,
    rejected: [],
    refused: { kind: 'gap', message: 'continues at 0', expectedLsn: 0 },
  });
  await tick();
  expect(client.state).toBe('failed');
  expect(socket.sent.filter((m) => m.type === 'push')).toHaveLength(1);
});

test('unauthorized is final: the client stops instead of retrying with the same token', async () => {
  const { sockets, client } = setup();
  client.start();
  sockets[0]!.open();
  sockets[0]!.say({ type: 'error', kind: 'unauthorized', message: 'no', retryAfterMs: null });
  await tick();
  expect(client.state).toBe('failed');
  await new Promise((resolve) => setTimeout(resolve, 10));
  expect(sockets).toHaveLength(1);
});

test('pages arrive as deltas against the base and the burst before them; the document gets full pages', async () => {
  const { sockets, target, client } = setup();
  const page = (fill: number, at = 0) => {
    const data = new Uint8Array(PAGE_SIZE).fill(fill);
    data[at] = 0xff;
    return data;
  };
  target.basePages.set(1, page(1)).set(2, page(2));
  target.base = { journalId: 'j1', cursor: 5 };
  const frames: Frame[] = [
    {
      lsn: 5,
      pageCount: 3,
      pages: [
        { pgno: 1, data: page(1, 9) },
        { pgno: 3, data: page(3) },
      ],
    },
    { lsn: 6, pageCount: 1, pages: [{ pgno: 1, data: page(1, 10) }] },
    {
      lsn: 7,
      pageCount: 2,
      pages: [
        { pgno: 1, data: page(4) },
        { pgno: 2, data: page(2, 1) },
      ],
    },
  ];
  const authority = new PageVersions((pgno) => target.basePages.get(pgno));
  const wire = [];
  for (const f of frames) wire.push(await authority.encode(f));
  client.start();
  const socket = sockets[0]!;
  socket.open();
  socket.say({ type: 'welcome', journalId: 'j1', head: 8, reducerHash: HASH, appliedLsn: -1 });
  socket.say({ type: 'frames', frames: wire.slice(0, 2), more: true });
  socket.say({ type: 'frames', frames: wire.slice(2), more: false });
  await vi.waitFor(() => expect(target.bursts).toEqual([[5, 6, 7]]));
  expect(target.received).toEqual(frames);
  // Page 2 was cut by frame 6, so frame 7 carries it against zeros, not against the base's page 2.
  const sizes = wire.map((f) => f.pages.map((p) => p.delta.length));
  expect(Math.max(...sizes.flat())).toBeLessThan(100);
  client.close();
});

test('a backlog larger than the coordinator’s push window goes out as results come back, never over the window', async () => {
  const { sockets, target, client } = setup();
  const total = MAX_PUSH_MUTATIONS * (MAX_PUSHES_IN_FLIGHT + 6);
  target.pending = Array.from({ length: total }, (_, lsn) => mutation(lsn));
  client.start();
  const socket = sockets[0]!;
  socket.open();
  socket.say({ type: 'welcome', journalId: 'j1', head: 0, reducerHash: HASH, appliedLsn: -1 });
  await tick();
  const pushes = () => socket.sent.filter((m) => m.type === 'push');
  expect(pushes()).toHaveLength(MAX_PUSHES_IN_FLIGHT);
  let answered = 0;
  while (answered < pushes().length) {
    const push = pushes()[answered++]!;
    if (push.type !== 'push') continue;
    socket.say({
      type: 'push-result',
      appliedLsn: push.mutations.at(-1)!.lsn,
      frameLsn: null,
      rejected: [],
      refused: null,
    });
    await tick();
    expect(pushes().length - answered).toBeLessThanOrEqual(MAX_PUSHES_IN_FLIGHT);
  }
  expect(pushes().flatMap((m) => (m.type === 'push' ? m.mutations.map((x) => x.lsn) : []))).toEqual(
    target.pending.map((m) => m.lsn),
  );
  expect(client.state).toBe('live');
  client.close();
});

test('a document whose storage failed while taking frames stops the client for good, instead of a retry loop', async () => {
  const { sockets, target, client } = setup();
  target.rebase = () => {
    throw new TandemError('storage-failed', 'the base could not be written');
  };
  client.start();
  const socket = sockets[0]!;
  socket.open();
  socket.say({ type: 'welcome', journalId: 'j1', head: 1, reducerHash: HASH, appliedLsn: -1 });
  socket.say({ type: 'frames', frames: [frame(0)], more: false });
  await vi.waitFor(() => expect(client.state).toBe('failed'));
  expect(client.error?.reason).toBe('document-failed');
  expect(target.failures.map((f) => f.reason)).toEqual(['document-failed']);
  await tick();
  expect(sockets).toHaveLength(1);
});

test('a connection that ends says why while the client retries, and the reason clears once live again', async () => {
  const { sockets, client } = setup();
  client.start();
  sockets[0]!.open();
  sockets[0]!.say({ type: 'welcome', journalId: 'j1', head: 5, reducerHash: HASH, appliedLsn: -1 });
  sockets[0]!.say({ type: 'frames', frames: [frame(3)], more: false });
  await vi.waitFor(() => expect(client.lastDrop).toBe('frame 3 arrived where 0 was expected'));
  await vi.waitFor(() => expect(sockets).toHaveLength(2));
  sockets[1]!.open();
  sockets[1]!.say({ type: 'welcome', journalId: 'j1', head: 0, reducerHash: HASH, appliedLsn: -1 });
  await vi.waitFor(() => expect(client.state).toBe('live'));
  expect(client.lastDrop).toBeUndefined();
  client.close();
});

test('taken offline mid-push, the client closes its socket and stays offline; back online it connects at once and pushes what is pending after the marker, once', async () => {
  const { sockets, target, client } = setup();
  const states: string[] = [];
  let changes = 0;
  target.syncChanged = () => {
    changes++;
    states.push(client.state);
  };
  target.pending = [mutation(0), mutation(1)];
  client.start();
  sockets[0]!.open();
  sockets[0]!.say({ type: 'welcome', journalId: 'j1', head: 0, reducerHash: HASH, appliedLsn: -1 });
  await tick();
  expect(sockets[0]!.sent[1]).toMatchObject({ type: 'push', mutations: [{ lsn: 0 }, { lsn: 1 }] });
  client.goOffline();
  client.goOffline();
  let live: string | undefined;
  client.whenLive().then(
    () => {
      live = 'live';
    },
    (error: Error) => {
      live = error.message;
    },
  );
  expect(client.state).toBe('offline');
  expect(client.paused).toBe(true);
  expect(sockets[0]!.closedWith).toBe('offline');
  // Whatever time passes, and whatever the old socket says, nothing reconnects.
  sockets[0]!.drop();
  await new Promise((resolve) => setTimeout(resolve, 20));
  expect(sockets).toHaveLength(1);
  expect(live).toBeUndefined();
  target.pending.push(mutation(2));
  client.pendingChanged();
  const before = changes;
  client.goOnline();
  client.goOnline();
  expect(sockets).toHaveLength(2);
  expect(client.state).toBe('connecting');
  expect(client.paused).toBe(false);
  expect(changes).toBe(before + 1);
  sockets[1]!.open();
  // The coordinator had taken the push that was in flight: only lsn 2 goes out.
  sockets[1]!.say({ type: 'welcome', journalId: 'j1', head: 0, reducerHash: HASH, appliedLsn: 1 });
  await tick();
  expect(live).toBe('live');
  expect(sockets[1]!.sent.filter((m) => m.type === 'push')).toEqual([
    expect.objectContaining({ mutations: [expect.objectContaining({ lsn: 2 })] }),
  ]);
  expect(states).toEqual(['connecting', 'live', 'offline', 'connecting', 'live']);
  client.close();
  client.goOnline();
  client.goOffline();
  expect(client.state).toBe('closed');
  expect(sockets).toHaveLength(2);
});

test('a client taken offline before it starts connects only once back online', async () => {
  const { sockets, client } = setup();
  client.goOffline();
  client.start();
  await new Promise((resolve) => setTimeout(resolve, 10));
  expect(sockets).toHaveLength(0);
  client.goOnline();
  expect(sockets).toHaveLength(1);
  client.close();
});

test('askHead is sent once welcomed, again on the next session until answered, settles with the answer, and rejects once closed', async () => {
  const { sockets, client } = setup();
  const early = client.askHead();
  client.start();
  const first = sockets[0]!;
  first.open();
  expect(first.sent.map((m) => m.type)).toEqual(['hello']);
  first.say({ type: 'welcome', journalId: 'j1', head: 0, reducerHash: HASH, appliedLsn: -1 });
  await tick();
  expect(first.sent.filter((m) => m.type === 'ask-head')).toEqual([{ type: 'ask-head', id: 0 }]);
  // The session ends before the answer: the next one asks again.
  first.drop();
  await vi.waitFor(() => expect(sockets).toHaveLength(2));
  const second = sockets[1]!;
  second.open();
  second.say({ type: 'welcome', journalId: 'j1', head: 2, reducerHash: HASH, appliedLsn: -1 });
  await tick();
  expect(second.sent.filter((m) => m.type === 'ask-head')).toEqual([{ type: 'ask-head', id: 0 }]);
  const live = client.askHead();
  expect(second.sent.filter((m) => m.type === 'ask-head')).toHaveLength(2);
  second.say({ type: 'head', id: 1, journalId: 'j1', head: 5 });
  second.say({ type: 'head', id: 0, journalId: 'j1', head: 4 });
  second.say({ type: 'head', id: 0, journalId: 'j1', head: 9 });
  expect(await early).toEqual({ journalId: 'j1', head: 4 });
  expect(await live).toEqual({ journalId: 'j1', head: 5 });
  const unanswered = client.askHead();
  client.close();
  await expect(unanswered).rejects.toMatchObject({ name: 'TandemError', kind: 'closed' });
  await expect(client.askHead()).rejects.toBeInstanceOf(TandemError);
});
