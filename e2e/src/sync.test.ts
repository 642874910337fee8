// Sync over real WebSockets: Node clients (host-node) and the coordinator (startCoordinator), the todo
// reducer on both sides.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCoordinator } from '@tandem/coordinator';
import { openDocument } from '@tandem/host-node';
import { MemoryByteStore } from '@tandem/runtime';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { REPO_ROOT } from './support/vite-server.js';

const TODO = join(REPO_ROOT, 'reducers/todo/dist/reducer.wasm');
const FAST = { backoffMs: 20, heartbeatMs: 1000 };
let scratch: string;
let docs = 0;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'tandem-sync-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

test('two clients converge through the coordinator, byte for byte', async () => {
  const coordinator = await startCoordinator({
    reducer: await readFile(TODO),
    dataDir: join(scratch, 'c1'),
    port: 0,
  });
  const docId = `shared-${++docs}`;
  const url = `${coordinator.url.replace('http', 'ws')}/sync`;
  const a = await openDocument({ docId, reducer: TODO, coordinatorUrl: url, sync: FAST });
  const b = await openDocument({ docId, reducer: TODO, coordinatorUrl: url, sync: FAST });
  try {
    const heard: number[] = [];
    a.subscribe('SELECT count(*) AS n FROM todos', [], (rows) => heard.push(Number(rows[0]?.n)));
    await a.mutate({ type: 'create', id: 'a', title: 'from a' });
    await b.mutate({ type: 'create', id: 'b', title: 'from b' });
    await a.mutate({ type: 'toggle', id: 'a' });
    await Promise.all([a.synced(), b.synced()]);
    // a hears b's todo through its subscription once b's frame arrives.
    while (!heard.includes(2)) await new Promise((r) => setTimeout(r, 10));
    expect(heard[0]).toBe(0);
    while ((await b.query('SELECT count(*) AS n FROM todos'))[0]?.n !== 2)
      await new Promise((r) => setTimeout(r, 10));
    expect(await a.query('SELECT id, title, completed FROM todos ORDER BY id')).toEqual([
      { id: 'a', title: 'from a', completed: 1 },
      { id: 'b', title: 'from b', completed: 0 },
    ]);
    expect(await a.pageHash()).toBe(await b.pageHash());
    expect(await a.pageHash()).toBe(await coordinator.pageHash(docId));
  } finally {
    await a.close();
    await b.close();
    await coordinator.close();
  }
});

test('edits made while the coordinator is down sync once it is back, and a conflicting one is rejected with its reason', async () => {
  const dataDir = join(scratch, 'c2');
  let coordinator = await startCoordinator({ reducer: await readFile(TODO), dataDir, port: 0 });
  const port = coordinator.port;
  const url = `ws://127.0.0.1:${port}/sync`;
  const docId = `offline-${++docs}`;
  const a = await openDocument({ docId, reducer: TODO, coordinatorUrl: url, sync: FAST });
  await a.mutate({ type: 'create', id: 'x', title: 'shared' });
  await a.synced();
  await coordinator.close();
  // b has never seen the coordinator: its edits are made offline, on an empty document.
  const bDir = join(scratch, 'client2');
  let b = await openDocument({ docId, reducer: TODO, coordinatorUrl: url, dataDir: bDir, sync: FAST });
  try {
    const offline = await b.mutate({ type: 'create', id: 'x', title: 'made offline' });
    expect(offline.status).toBe('applied');
    const kept = await b.mutate({ type: 'create', id: 'y', title: 'also offline' });

    coordinator = await startCoordinator({ reducer: await readFile(TODO), dataDir, port });
    await b.synced();
    expect(await b.fate(offline.lsn)).toMatchObject({
      status: 'rejected',
      reason: expect.stringContaining('x'),
    });
    expect(await b.fate(kept.lsn)).toEqual({ lsn: kept.lsn, status: 'confirmed' });
    expect(await b.query('SELECT id, title FROM todos ORDER BY id')).toEqual([
      { id: 'x', title: 'shared' },
      { id: 'y', title: 'also offline' },
    ]);

    // Reopened (no push-result to remember), b learns the fates from the pages it synced.
    await b.close();
    await coordinator.close();
    b = await openDocument({ docId, reducer: TODO, coordinatorUrl: url, dataDir: bDir, sync: FAST });
    expect(await b.fate(offline.lsn)).toMatchObject({
      status: 'rejected',
      reason: expect.stringContaining('x'),
    });
    expect(await b.fate(kept.lsn)).toEqual({ lsn: kept.lsn, status: 'confirmed' });
    coordinator = await startCoordinator({ reducer: await readFile(TODO), dataDir, port });
  } finally {
    await a.close();
    await b.close();
    await coordinator.close();
  }
});

test('a reopened client shows what it had synced even while the coordinator is down, then catches up', async () => {
  const dataDir = join(scratch, 'c3');
  const clientDir = join(scratch, 'client3');
  let coordinator = await startCoordinator({ reducer: await readFile(TODO), dataDir, port: 0 });
  const port = coordinator.port;
  const url = `ws://127.0.0.1:${port}/sync`;
  const docId = `reopen-${++docs}`;
  const other = await openDocument({ docId, reducer: TODO, coordinatorUrl: url, sync: FAST });
  await other.mutate({ type: 'create', id: 'o', title: 'from another client' });
  await other.synced();
  const mine = await openDocument({
    docId,
    reducer: TODO,
    coordinatorUrl: url,
    dataDir: clientDir,
    sync: FAST,
  });
  await mine.mutate({ type: 'create', id: 'm', title: 'mine' });
  await mine.synced();
  while ((await mine.query('SELECT count(*) AS n FROM todos'))[0]?.n !== 2)
    await new Promise((r) => setTimeout(r, 10));
  await mine.close();
  await coordinator.close();

  const offline = await openDocument({
    docId,
    reducer: TODO,
    coordinatorUrl: url,
    dataDir: clientDir,
    sync: FAST,
  });
  try {
    expect(offline.replayed).toBe(0);
    expect(await offline.query('SELECT id FROM todos ORDER BY id')).toEqual([{ id: 'm' }, { id: 'o' }]);
    coordinator = await startCoordinator({ reducer: await readFile(TODO), dataDir, port });
    await other.mutate({ type: 'toggle', id: 'o' });
    await other.synced();
    while ((await offline.query('SELECT completed FROM todos WHERE id = ?', ['o']))[0]?.completed !== 1) {
      await new Promise((r) => setTimeout(r, 10));
    }
    // Its timeline goes on after what the coordinator took: a new mutation is not mistaken for a duplicate.
    const next = await offline.mutate({ type: 'create', id: 'n', title: 'after reopening' });
    expect(next.lsn).toBe(1);
    await offline.synced();
    expect(await offline.fate(next.lsn)).toEqual({ lsn: 1, status: 'confirmed' });
    expect(await offline.pageHash()).toBe(await coordinator.pageHash(docId));
  } finally {
    await offline.close();
    await other.close();
    await coordinator.close();
  }
});

test('after a power loss right after its mutations were taken, a client never reuses their lsns', async () => {
  const coordinator = await startCoordinator({ reducer: await readFile(TODO), port: 0, workers: 1 });
  const url = `ws://127.0.0.1:${coordinator.port}/sync`;
  const docId = `power-${++docs}`;
  const storage = new MemoryByteStore();
  const offline = await openDocument({ docId, reducer: TODO, storage });
  for (let i = 0; i < 3; i++) await offline.mutate({ type: 'create', id: `a${i}`, title: 'x' });
  await offline.close();
  const online = await openDocument({ docId, reducer: TODO, storage, coordinatorUrl: url, sync: FAST });
  await online.synced();
  await new Promise((resolve) => setTimeout(resolve, 100));
  const crashed = storage.crashImage({ keepUnsynced: false });
  const reopened = await openDocument({
    docId,
    reducer: TODO,
    storage: crashed,
    coordinatorUrl: url,
    sync: FAST,
  });
  try {
    const next = await reopened.mutate({ type: 'create', id: 'after-crash', title: 'y' });
    expect(next.lsn).toBe(3);
    await reopened.synced();
    expect(await reopened.fate(next.lsn)).toEqual({ lsn: 3, status: 'confirmed' });
    while ((await reopened.query('SELECT count(*) AS n FROM todos'))[0]?.n !== 4)
      await new Promise((r) => setTimeout(r, 10));
    expect(await reopened.pageHash()).toBe(await coordinator.pageHash(docId));
  } finally {
    await online.close();
    await reopened.close();
    await coordinator.close();
  }
});
