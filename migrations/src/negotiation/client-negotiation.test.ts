// The reducer negotiation as a SyncClient runs it under the host's `reducerNegotiation` (this package's
// policy and steps, the runtime's mechanics: sync-client.ts S8): a newer reducer moves the document once
// its base caught up, an older one puts it in waiting-for-reducer, a move that fails on the document's
// pages is upgrade-failed and any other failed move is tried again. The coordinator's socket and the
// document are scripted (`@tandem/runtime/testing`); the offered reducers are named, not loaded (their
// fetch and check are reducer-offer.test.ts's).
import type { Frame, ReducerModule } from '@tandem/runtime/local';
import { SCHEMA_MARK_UNWRITTEN, TandemError } from '@tandem/runtime/local';
import { RecordingTarget, scriptedClient, scriptedFrame, scriptedMutation } from '@tandem/runtime/testing';
import { expect, test } from 'vitest';
import { reducerNegotiation } from './reducer-negotiation.js';

const HASH = 'ab'.repeat(32);
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
const frame = scriptedFrame;
const mutation = scriptedMutation;

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
  const target = new NegotiatingTarget();
  const offers: string[] = [];
  const { client, sockets } = scriptedClient(target, {
    reducerHash: HASH,
    negotiation: {
      ...reducerNegotiation,
      fetchOffered: async (_url, hash) => {
        offers.push(hash);
        return { module: { sha256: hash } as ReducerModule, schemaVersion: hash === NEWER ? 3 : 1 };
      },
    },
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
