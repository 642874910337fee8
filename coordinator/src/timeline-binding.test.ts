// Claims of finding 6 (issue 8): a timeline is bound to the secret of the client that first wrote on
// it, so no other client can write on it, with or without an authorize hook. Real clients (host-node)
// over real WebSockets against startCoordinator.
import { mkdtemp, readdir, readFile, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { documentFolder, openDocument } from '@tandem/host-node';
import type { LocalDocument, Push } from '@tandem/runtime';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type Coordinator, startCoordinator } from './server.js';
import { TestSyncClient } from './testing/sync-client.js';

const TODO = new URL('../../reducers/todo/dist/reducer.wasm', import.meta.url);
const FAST = { backoffMs: 20, maxBackoffMs: 200, heartbeatMs: 2000 };
/** Generous: the machine running the tests may be loaded. */
const WAIT_MS = 20_000;
let scratch: string;
let docs = 0;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'tandem-binding-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function until(what: string, done: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The hijacker's sync ended: failed for good, or (before the fix) everything it wrote was taken. */
const hijackSettled = (hijacker: LocalDocument) => () =>
  hijacker.syncState === 'failed' || hijacker.pendingCount === 0;

async function start(dataDir: string, port = 0): Promise<Coordinator> {
  return startCoordinator({ reducer: new Uint8Array(await readFile(TODO)), dataDir, port, workers: 1 });
}

const todos = async (document: LocalDocument) =>
  (await document.query('SELECT id FROM todos ORDER BY id')).map((row) => row.id);

test("a client cannot push on another client's timeline", async () => {
  const coordinator = await start(join(scratch, 'hijack'));
  const url = `${coordinator.url.replace('http', 'ws')}/sync`;
  const docId = `hijack-${++docs}`;
  const victim = await openDocument({ docId, reducer: TODO, coordinatorUrl: url, sync: FAST });
  let hijacker: LocalDocument | undefined;
  try {
    const lsns = [(await victim.mutate({ type: 'create', id: 'v0', title: 'victim' })).lsn];
    await victim.synced();
    // The victim's timeline id is readable in the pages every client of the document holds.
    const [marker] = await victim.query('SELECT timeline_id FROM _tandem_applied');
    expect(marker?.timeline_id).toBe(victim.timelineId);

    hijacker = await openDocument({
      docId,
      reducer: TODO,
      coordinatorUrl: url,
      timelineId: victim.timelineId,
      sync: FAST,
    });
    for (const id of ['h0', 'h1', 'h2']) await hijacker.mutate({ type: 'create', id, title: 'hijacker' });
    await until('the hijacker to be refused or taken', hijackSettled(hijacker));
    for (const id of ['v1', 'v2', 'v3']) {
      lsns.push((await victim.mutate({ type: 'create', id, title: 'victim' })).lsn);
    }
    await victim.synced();

    expect(hijacker.syncState).toBe('failed');
    expect(hijacker.syncError?.message).toMatch(/timeline-taken/);
    for (const lsn of lsns) expect(await victim.fate(lsn)).toEqual({ lsn, status: 'confirmed' });
    await until('the victim to hold its four todos', async () => (await todos(victim)).length >= 4);
    expect(await todos(victim)).toEqual(['v0', 'v1', 'v2', 'v3']);
    expect(await victim.pageHash()).toBe(await coordinator.pageHash(docId));
  } finally {
    await hijacker?.close();
    await victim.close();
    await coordinator.close();
  }
});

test('the timeline binding survives a coordinator restart', async () => {
  const dataDir = join(scratch, 'restart');
  const clientDir = join(scratch, 'restart-client');
  let coordinator = await start(dataDir);
  const port = coordinator.port;
  const url = `ws://127.0.0.1:${port}/sync`;
  const docId = `restart-${++docs}`;
  let victim = await openDocument({
    docId,
    reducer: TODO,
    coordinatorUrl: url,
    dataDir: clientDir,
    sync: FAST,
  });
  const timelineId = victim.timelineId;
  let hijacker: LocalDocument | undefined;
  try {
    await victim.mutate({ type: 'create', id: 'v0', title: 'before the restart' });
    await victim.synced();
    await victim.close();
    await coordinator.close();
    coordinator = await start(dataDir, port);

    hijacker = await openDocument({ docId, reducer: TODO, coordinatorUrl: url, timelineId, sync: FAST });
    for (const id of ['h0', 'h1']) await hijacker.mutate({ type: 'create', id, title: 'hijacker' });
    await until('the hijacker to be refused or taken', hijackSettled(hijacker));
    expect(hijacker.syncState).toBe('failed');
    expect(hijacker.syncError?.message).toMatch(/timeline-taken/);

    // The victim, reopened from its files, keeps its timeline and its secret: it goes on writing.
    victim = await openDocument({
      docId,
      reducer: TODO,
      coordinatorUrl: url,
      dataDir: clientDir,
      sync: FAST,
    });
    expect(victim.timelineId).toBe(timelineId);
    const next = await victim.mutate({ type: 'create', id: 'v1', title: 'after the restart' });
    await victim.synced();
    expect(await victim.fate(next.lsn)).toEqual({ lsn: next.lsn, status: 'confirmed' });
    await until('the victim to hold its two todos', async () => (await todos(victim)).length >= 2);
    expect(await todos(victim)).toEqual(['v0', 'v1']);
    expect(victim.syncState).toBe('live');
  } finally {
    await hijacker?.close();
    await victim.close();
    await coordinator.close();
  }
});

test('a client that lost every copy of its timeline secret stops loudly instead of writing on its timeline', async () => {
  const coordinator = await start(join(scratch, 'lost'));
  const url = `${coordinator.url.replace('http', 'ws')}/sync`;
  const clientDir = join(scratch, 'lost-client');
  const docId = `lost-${++docs}`;
  let client = await openDocument({
    docId,
    reducer: TODO,
    coordinatorUrl: url,
    dataDir: clientDir,
    sync: FAST,
  });
  const timelineId = client.timelineId;
  try {
    await client.mutate({ type: 'create', id: 'a', title: 'synced' });
    await client.synced();
    await client.close();
    // Made offline, so that its timeline record keeps the id once every other copy is gone.
    client = await openDocument({ docId, reducer: TODO, dataDir: clientDir });
    await client.mutate({ type: 'create', id: 'b', title: 'after the loss' });
    await client.close();
    const folder = documentFolder(clientDir, docId);
    // The secret's copies (runtime/src/storage/client-identity.ts): any one of them alone would do.
    const copies = (await readdir(folder)).filter((file) => /^(secret|identity|reach|history)\./.test(file));
    expect(copies.some((file) => file.startsWith('secret.'))).toBe(true);
    for (const file of copies) await unlink(join(folder, file));

    client = await openDocument({
      docId,
      reducer: TODO,
      coordinatorUrl: url,
      dataDir: clientDir,
      sync: FAST,
    });
    expect(client.timelineId).toBe(timelineId);
    await until('the client to stop', () => client.syncState === 'failed');
    expect(client.syncError?.message).toMatch(/timeline-taken/);
    // 'b', and 'a' too while its record is kept: the base that showed it taken went with the history.
    expect(client.pendingCount).toBeGreaterThanOrEqual(1);
  } finally {
    await client.close();
    await coordinator.close();
  }
});

test('of two clients that said hello on the same unbound timeline, the second to push is refused', async () => {
  const coordinator = await start(join(scratch, 'race'));
  const docId = `race-${++docs}`;
  const push = (lsn: number, id: string): Push => ({
    type: 'push',
    mutations: [
      {
        lsn,
        timestamp: 1_700_000_000_000,
        payload: new TextEncoder().encode(JSON.stringify({ type: 'create', id, title: id })),
      },
    ],
  });
  const hello = { docId, timelineId: 'shared' };
  const first = await TestSyncClient.connect(coordinator.url, { ...hello, timelineSecret: 'a'.repeat(64) });
  const second = await TestSyncClient.connect(coordinator.url, { ...hello, timelineSecret: 'b'.repeat(64) });
  try {
    await first.next('welcome');
    await second.next('welcome');
    first.send(push(0, 'first'));
    expect(await first.next('push-result')).toMatchObject({ appliedLsn: 0, refused: null });
    second.send(push(1, 'second'));
    expect((await second.closed).code).toBe(1008);
    expect(second.received.at(-1)).toMatchObject({ type: 'error', kind: 'timeline-taken' });
    first.send(push(1, 'first-again'));
    expect(await first.next('push-result', (r) => r.appliedLsn === 1)).toMatchObject({ refused: null });
  } finally {
    await first.close();
    await coordinator.close();
  }
});
