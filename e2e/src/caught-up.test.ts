// A reader waits until it holds what the coordinator held when it asked (`caughtUp()`, protocol v5's
// ask-head/head), where `synced()` only waits for its own mutations; and an app lists its rejected
// mutations with their reasons (`rejections()`). Host-node documents against a real coordinator over
// real WebSockets.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Coordinator, startCoordinator } from '@tandem/coordinator';
import { openDocument } from '@tandem/host-node';
import { TandemError } from '@tandem/runtime';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { TcpProxy } from './support/tcp-proxy.js';
import { REPO_ROOT } from './support/vite-server.js';

const TODO = join(REPO_ROOT, 'reducers/todo/dist/reducer.wasm');
const FAST = { backoffMs: 20, heartbeatMs: 1000 };
const LONG_TITLE = 'x'.repeat(201);
const TOO_LONG = 'title is longer than 200 characters';
let coordinator: Coordinator;
let url: string;
let scratch: string;
let docs = 0;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'tandem-caught-up-'));
  coordinator = await startCoordinator({
    reducer: await readFile(TODO),
    port: 0,
    workers: 1,
    authorize: (_docId, token) => token !== 'refused',
  });
  url = `ws://127.0.0.1:${coordinator.port}/sync`;
});
afterAll(async () => {
  await coordinator.close();
  await rm(scratch, { recursive: true, force: true });
});

/** Resolves once `check` holds (polled every 10 ms); fails after 10 s naming `what`. */
async function until(check: () => boolean, what: string): Promise<void> {
  for (const started = Date.now(); !check(); await new Promise((resolve) => setTimeout(resolve, 10))) {
    if (Date.now() - started > 10_000) throw new Error(`never: ${what}`);
  }
}

const count = async (doc: { query(sql: string): Promise<Record<string, unknown>[]> }) =>
  (await doc.query('SELECT count(*) AS n FROM todos'))[0]?.n;

test("caughtUp() waits for a second client's writes the coordinator held when asked, where synced() resolves at once", async () => {
  const docId = `caught-up-${++docs}`;
  const reader = await openDocument({ docId, reducer: TODO, coordinatorUrl: url, sync: FAST });
  const writer = await openDocument({ docId, reducer: TODO, coordinatorUrl: url, sync: FAST });
  try {
    await reader.caughtUp();
    expect(await count(reader)).toBe(0);
    await reader.goOffline();
    for (let i = 0; i < 40; i++) await writer.mutate({ type: 'create', id: `w${i}`, title: `todo ${i}` });
    await writer.synced();
    await reader.goOnline();
    // Nothing of the reader's own is pending: synced() has nothing to wait for, and the frames are not here.
    await reader.synced();
    expect(await count(reader)).toBe(0);
    await reader.caughtUp();
    expect(await count(reader)).toBe(40);
    expect(await reader.pageHash()).toBe(await coordinator.pageHash(docId));
    // Caught up while live: more writes, one ask, everything the coordinator took before it.
    await writer.mutateBatch([
      { type: 'create', id: 'late-1', title: 'late' },
      { type: 'create', id: 'late-2', title: 'late' },
    ]);
    await writer.synced();
    await reader.caughtUp();
    expect(await count(reader)).toBe(42);
  } finally {
    await Promise.all([reader.close(), writer.close()]);
  }
});

test('over a link that holds back what the coordinator sends, caughtUp() resolves only once the reader holds every frame the coordinator had when asked, never early', async () => {
  const proxy = await TcpProxy.start(coordinator.port);
  const docId = `lagging-${++docs}`;
  // The default heartbeat (a drop after 30 s of silence): the held link must not look dead.
  const reader = await openDocument({
    docId,
    reducer: TODO,
    coordinatorUrl: `ws://127.0.0.1:${proxy.port}/sync`,
    sync: { backoffMs: 20 },
  });
  const writer = await openDocument({ docId, reducer: TODO, coordinatorUrl: url, sync: FAST });
  try {
    await reader.caughtUp();
    for (const round of [1, 2]) {
      proxy.hold();
      // One frame per mutation: each is taken before the next is made.
      for (let i = 0; i < 5; i++) {
        await writer.mutate({ type: 'create', id: `r${round}-${i}`, title: `round ${round}` });
        await writer.synced();
      }
      const held = 5 * round;
      // Nothing more is released once caughtUp() resolved: what the reader holds then is what it counts.
      let resolved = false;
      const atResolve = reader.caughtUp().then(() => {
        resolved = true;
        return count(reader);
      });
      await until(() => proxy.waiting >= 5, 'the frames reached the proxy');
      expect(await count(reader)).toBe(held - 5);
      // Round 1: one message at a time, each given time to land; round 2: everything at once.
      while (round === 1 && !resolved && proxy.release(1) > 0) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      proxy.release();
      expect(await atResolve).toBe(held);
    }
    expect(await reader.pageHash()).toBe(await coordinator.pageHash(docId));
  } finally {
    await Promise.all([reader.close(), writer.close()]);
    await proxy.close();
  }
});

test('caughtUp() waits through offline, and rejects with closed, sync-failed or invalid-argument as synced() does', async () => {
  const local = await openDocument({ docId: `local-${++docs}`, reducer: TODO });
  await expect(local.caughtUp()).rejects.toMatchObject({ name: 'TandemError', kind: 'invalid-argument' });
  await local.close();

  const offline = await openDocument({
    docId: `offline-${++docs}`,
    reducer: TODO,
    coordinatorUrl: url,
    sync: FAST,
  });
  await offline.goOffline();
  let settled: unknown;
  const waiting = offline.caughtUp().then(
    () => 'resolved',
    (error: unknown) => error,
  );
  void waiting.then((value) => {
    settled = value;
  });
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(settled).toBeUndefined();
  await offline.close();
  expect(await waiting).toMatchObject({ name: 'TandemError', kind: 'closed' });
  await expect(offline.caughtUp()).rejects.toMatchObject({ kind: 'closed' });

  const refused = await openDocument({
    docId: `refused-${++docs}`,
    reducer: TODO,
    coordinatorUrl: url,
    token: 'refused',
    sync: FAST,
  });
  const error = await refused.caughtUp().catch((e: unknown) => e);
  expect(error).toBeInstanceOf(TandemError);
  expect(error).toMatchObject({ kind: 'sync-failed', fields: { reason: 'unauthorized' } });
  await refused.close();
});

test("rejections() lists this client's rejected mutations with reasons and the mutation: the local verdict, then the coordinator's, and again after a reopen", async () => {
  const docId = `rejections-${++docs}`;
  const dataDir = join(scratch, docId);
  const doc = await openDocument({ docId, reducer: TODO, dataDir, coordinatorUrl: url, sync: FAST });
  await doc.goOffline();
  await doc.mutate({ type: 'create', id: 'ok', title: 'fine' });
  const bad = { type: 'create', id: 'bad', title: LONG_TITLE };
  const { lsn } = await doc.mutate(bad);
  await doc.mutate(new Uint8Array([0xff, 0x00]));
  expect(await doc.rejections()).toEqual([
    {
      lsn,
      reason: TOO_LONG,
      final: false,
      payload: new TextEncoder().encode(JSON.stringify(bad)),
      mutation: bad,
    },
    { lsn: lsn + 1, reason: expect.any(String), final: false, payload: new Uint8Array([0xff, 0x00]) },
  ]);
  await doc.goOnline();
  await doc.synced();
  const final = await doc.rejections();
  expect(final.map(({ lsn, reason, final, mutation }) => ({ lsn, reason, final, mutation }))).toEqual([
    { lsn, reason: TOO_LONG, final: true, mutation: bad },
    { lsn: lsn + 1, reason: expect.any(String), final: true, mutation: undefined },
  ]);
  expect(await doc.fate(lsn)).toEqual({ lsn, status: 'rejected', reason: TOO_LONG });
  await doc.close();

  // Reopened: the coordinator's verdicts are in its pages; the bytes left with the timeline.
  const reopened = await openDocument({ docId, reducer: TODO, dataDir, coordinatorUrl: url, sync: FAST });
  try {
    expect(await reopened.rejections()).toEqual([
      { lsn, reason: TOO_LONG, final: true },
      { lsn: lsn + 1, reason: final[1]!.reason, final: true },
    ]);
  } finally {
    await reopened.close();
  }
});
