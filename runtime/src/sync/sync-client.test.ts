import { expect, test, vi } from 'vitest';
import { TandemError } from '../errors.js';
import type { Frame } from '../frame.js';
import {
  type ClientMessage,
  decodeClientMessage,
  encodeMessage,
  type ServerMessage,
} from '../protocol/codec.js';
import { MAX_PUSH_MUTATIONS, MAX_PUSHES_IN_FLIGHT } from '../protocol/limits.js';
import { encodePageDelta, PageVersions } from '../protocol/page-delta.js';
import type { MutationEnvelope, ReducerModule } from '../reducer/host.js';
import { SCHEMA_MARK_UNWRITTEN } from '../storage/schema-mark.js';
import { PAGE_SIZE } from '../vfs/page-store.js';
import { SyncClient, type SyncFailure, type SyncTarget, type WebSocketLike } from './sync-client.js';

/** A socket whose far end is the test: it sees what the client sends and says what the coordinator says. */
class ScriptedSocket implements WebSocketLike {
  binaryType = 'blob';
  readyState = 0;
  bufferedAmount = 0;
  readonly sent: ClientMessage[] = [];
  closedWith: string | undefined;
  readonly #listeners = new Map<string, ((event: { data: unknown }) => void)[]>();

  addEventListener(type: string, listener: (event: { data: unknown }) => void): void {
    this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener]);
  }
  send(data: Uint8Array): void {
    this.sent.push(decodeClientMessage(data));
  }
  close(_code?: number, reason?: string): void {
    this.closedWith = reason ?? '';
    this.readyState = 3;
  }
  open(): void {
    this.readyState = 1;
    this.#emit('open', undefined);
  }
  say(message: ServerMessage): void {
    const bytes = encodeMessage(message);
    this.#emit('message', bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  }
  sayBytes(bytes: Uint8Array): void {
    this.#emit('message', bytes.buffer);
  }
  drop(): void {
    this.readyState = 3;
    this.#emit('close', undefined);
  }
  #emit(type: string, data: unknown): void {
    for (const listener of this.#listeners.get(type) ?? []) listener({ data });
  }
}

class RecordingTarget implements SyncTarget {
  syncChanged: () => void = () => undefined;
  readonly docId = 'doc';
  readonly timelineId = 'me';
  readonly timelineSecret = 'c'.repeat(64);
  base = { journalId: null as string | null, cursor: 0 };
  pending: MutationEnvelope[] = [];
  readonly bursts: number[][] = [];
  readonly received: Frame[] = [];
  readonly basePages = new Map<number, Uint8Array>();
  readonly pushes: { appliedLsn: number; rejected: readonly { lsn: number; reason: string }[] }[] = [];
  baseCursor() {
    return this.base;
  }
  basePage(pgno: number) {
    return this.basePages.get(pgno);
  }
  pendingAfter(lsn: number) {
    return this.pending.filter((m) => m.lsn > lsn);
  }
  taken = -1;
  takenLsn() {
    return this.taken;
  }
  opened = Number.MAX_SAFE_INTEGER;
  openedThrough() {
    return this.opened;
  }
  rebase(update: { journalId: string; frames: readonly Frame[] }) {
    this.bursts.push(update.frames.map((f) => f.lsn));
    this.received.push(...update.frames);
    this.base = {
      journalId: update.journalId,
      cursor: (update.frames.at(-1)?.lsn ?? this.base.cursor - 1) + 1,
    };
  }
  pushed(appliedLsn: number, rejected: readonly { lsn: number; reason: string }[]) {
    this.pushes.push({ appliedLsn, rejected });
  }
  readonly failures: SyncFailure[] = [];
  syncFailed(failure: SyncFailure) {
    this.failures.push(failure);
  }
}

const HASH = 'ab'.repeat(32);
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
/** A page's delta against zeros: the tests that only follow lsns do not look at the pages. */
const DELTA = await encodePageDelta(undefined, new Uint8Array(PAGE_SIZE).fill(7));
const frame = (lsn: number) => ({ lsn, pageCount: 1, pages: [{ pgno: 1, delta: DELTA }] });
const mutation = (lsn: number): MutationEnvelope => ({
  timelineId: 'me',
  lsn,
  timestamp: 0,
  payload: new Uint8Array([lsn]),
});

function setup() {
  const sockets: ScriptedSocket[] = [];
  const target = new RecordingTarget();
  const client = new SyncClient(target, {
    url: 'ws://coordinator/sync',
    connect: () => {
      const socket = new ScriptedSocket();
      sockets.push(socket);
      return socket;
    },
    reducerHash: HASH,
    backoffMs: 1,
    maxBackoffMs: 2,
    random: () => 0.5,
  });
  return { sockets, target, client };
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

/** A document that negotiates (schema version 2), recording the reducer each move hands it. */
class NegotiatingTarget extends RecordingTarget {
  schemaVersion = 2;
  hash = HASH;
  readonly moves: { how: 'rebase' | 'alone'; hash: string; frames: number[] }[] = [];
  failMove: Error | undefined;
  failReady: Error | undefined;
  reducerIdentity() {
    return { hash: this.hash, schemaVersion: this.schemaVersion };
  }
  async upgradeReducer(module: ReducerModule) {
    this.move('alone', module, []);
  }
  readonly readied: string[] = [];
  async readyUpgrade(module: ReducerModule) {
    if (this.failReady !== undefined) throw this.failReady;
    this.readied.push(module.sha256);
  }
  override rebase(update: { journalId: string; frames: readonly Frame[]; reducer?: ReducerModule }) {
    // A move that fails takes nothing (local-document.ts invariant 11).
    if (update.reducer !== undefined && this.failMove !== undefined) throw this.failMove;
    super.rebase(update);
    if (update.reducer !== undefined)
      this.move(
        'rebase',
        update.reducer,
        update.frames.map((f) => f.lsn),
      );
  }
  private move(how: 'rebase' | 'alone', module: ReducerModule, frames: number[]) {
    if (this.failMove !== undefined) throw this.failMove;
    this.moves.push({ how, hash: module.sha256, frames });
    this.hash = module.sha256;
    this.schemaVersion = 3;
  }
}

const NEWER = 'cd'.repeat(32);

function negotiating() {
  const sockets: ScriptedSocket[] = [];
  const target = new NegotiatingTarget();
  const offers: string[] = [];
  const client = new SyncClient(target, {
    url: 'ws://coordinator/sync',
    connect: () => {
      const socket = new ScriptedSocket();
      sockets.push(socket);
      return socket;
    },
    reducerHash: HASH,
    offered: async (hash) => {
      offers.push(hash);
      return { module: { sha256: hash } as ReducerModule, schemaVersion: hash === NEWER ? 3 : 1 };
    },
    backoffMs: 1,
    maxBackoffMs: 2,
    random: () => 0.5,
  });
  return { sockets, target, client, offers };
}

test('a newer reducer moves the document with the burst that catches its base up, nothing pushed before, and the next hello says it', async () => {
  const { sockets, target, client, offers } = negotiating();
  target.pending = [mutation(0)];
  client.start();
  sockets[0]!.open();
  sockets[0]!.say({ type: 'welcome', journalId: 'j1', head: 2, reducerHash: NEWER, appliedLsn: -1 });
  await tick();
  expect(client.state).toBe('catching-up');
  sockets[0]!.say({ type: 'frames', frames: [frame(0), frame(1)], more: false });
  await tick();
  expect(offers).toEqual([NEWER]);
  // The move came with the frames that hold the coordinator's migration, not before them.
  expect(target.moves).toEqual([{ how: 'rebase', hash: NEWER, frames: [0, 1] }]);
  // Its schema version was recorded before the burst could move it.
  expect(target.readied).toEqual([NEWER]);
  expect(sockets[0]!.sent.map((m) => m.type)).toEqual(['hello']);
  expect(sockets[0]!.closedWith).toMatch(/upgraded to the coordinator's reducer cdcd/);
  await new Promise((resolve) => setTimeout(resolve, 20));
  sockets[1]!.open();
  expect(sockets[1]!.sent[0]).toMatchObject({ type: 'hello', reducerHash: NEWER, cursor: 2 });
  sockets[1]!.say({ type: 'welcome', journalId: 'j1', head: 2, reducerHash: NEWER, appliedLsn: -1 });
  await tick();
  expect(client.state).toBe('live');
  expect(sockets[1]!.sent.map((m) => m.type)).toEqual(['hello', 'push']);
});

test('a newer reducer with nothing to catch up moves the document at once', async () => {
  const { sockets, target, client } = negotiating();
  client.start();
  sockets[0]!.open();
  sockets[0]!.say({ type: 'welcome', journalId: 'j1', head: 0, reducerHash: NEWER, appliedLsn: -1 });
  await tick();
  expect(target.moves).toEqual([{ how: 'alone', hash: NEWER, frames: [] }]);
  expect(client.reducerHash).toBe(NEWER);
  expect(client.state).toBe('offline');
});

test('a document that cannot move to the newer reducer fails the client with upgrade-failed, not a retry loop', async () => {
  const { sockets, target, client } = negotiating();
  target.failMove = new TandemError('migration-failed', 'migrate(2) to schema version 3 failed: no');
  client.start();
  sockets[0]!.open();
  sockets[0]!.say({ type: 'welcome', journalId: 'j1', head: 1, reducerHash: NEWER, appliedLsn: -1 });
  sockets[0]!.say({ type: 'frames', frames: [frame(0)], more: false });
  await tick();
  await tick();
  expect(client.state).toBe('failed');
  expect(client.error).toMatchObject({
    reason: 'upgrade-failed',
    message: expect.stringContaining('migrate(2)'),
  });
  expect(target.failures).toHaveLength(1);
  expect(client.reducerHash).toBe(HASH);
  await new Promise((resolve) => setTimeout(resolve, 10));
  expect(sockets).toHaveLength(1);
});

// Faults of a move a later session may cure: the document stayed on its reducer (local-document.ts
// invariant 11), so the client drops the session and moves with the next one.
for (const [what, fault, step] of [
  ['a refused frame', new Error('frame 1 cannot be applied'), 'rebase'],
  ['an instance that could not be made', new Error('no memory left for an instance'), 'alone'],
  [
    'a reducer older than the pages it was sent with',
    new TandemError('reducer-too-old', 'document d is at schema version 4'),
    'rebase',
  ],
  [
    'a schema version that could not be recorded',
    new TandemError('storage-failed', 'document d could not record its new schema version 3', {
      reason: SCHEMA_MARK_UNWRITTEN,
    }),
    'ready',
  ],
] as const) {
  test(`a move that failed on ${what} drops the session, and the next one moves: no upgrade-failed`, async () => {
    const { sockets, target, client } = negotiating();
    if (step === 'ready') target.failReady = fault;
    else target.failMove = fault;
    const head = step === 'alone' ? 0 : 1;
    client.start();
    sockets[0]!.open();
    sockets[0]!.say({ type: 'welcome', journalId: 'j1', head, reducerHash: NEWER, appliedLsn: -1 });
    if (head > 0) sockets[0]!.say({ type: 'frames', frames: [frame(0)], more: false });
    await tick();
    await tick();
    expect(client.state).not.toBe('failed');
    expect(client.lastDrop).toContain(fault.message);
    expect(target.failures).toHaveLength(0);
    target.failMove = undefined;
    target.failReady = undefined;
    await new Promise((resolve) => setTimeout(resolve, 20));
    sockets[1]!.open();
    sockets[1]!.say({ type: 'welcome', journalId: 'j1', head, reducerHash: NEWER, appliedLsn: -1 });
    if (head > 0) sockets[1]!.say({ type: 'frames', frames: [frame(0)], more: false });
    await tick();
    await tick();
    expect(target.moves).toHaveLength(1);
    expect(client.reducerHash).toBe(NEWER);
  });
}

test('an older reducer: the client takes frames, pushes nothing, says what it waits for, and goes live once welcomed under its own', async () => {
  const { sockets, target, client } = negotiating();
  target.pending = [mutation(0)];
  client.start();
  sockets[0]!.open();
  sockets[0]!.say({
    type: 'welcome',
    journalId: 'j1',
    head: 1,
    reducerHash: 'ef'.repeat(32),
    appliedLsn: -1,
  });
  sockets[0]!.say({ type: 'frames', frames: [frame(0)], more: false });
  await tick();
  await tick();
  expect(client.state).toBe('waiting-for-reducer');
  expect(client.waitingFor).toEqual({
    hash: HASH,
    schemaVersion: 2,
    coordinator: { hash: 'ef'.repeat(32), schemaVersion: 1 },
  });
  expect(target.bursts).toEqual([[0]]);
  client.pendingChanged();
  expect(sockets[0]!.sent.map((m) => m.type)).toEqual(['hello']);
  sockets[0]!.drop();
  await new Promise((resolve) => setTimeout(resolve, 20));
  sockets[1]!.open();
  sockets[1]!.say({ type: 'welcome', journalId: 'j1', head: 1, reducerHash: HASH, appliedLsn: -1 });
  await tick();
  expect(client.state).toBe('live');
  expect(client.waitingFor).toBeUndefined();
  expect(sockets[1]!.sent.map((m) => m.type)).toEqual(['hello', 'push']);
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
