import { readFile } from 'node:fs/promises';
import { PAGE_SIZE, type Push } from '@tandem/runtime';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type Coordinator, startCoordinator } from './server.js';
import { pushOf } from './testing/pushes.js';
import { TestSyncClient } from './testing/sync-client.js';

const reducer = new Uint8Array(
  await readFile(new URL('../../reducers/todo/dist/reducer.wasm', import.meta.url)),
);
let coordinator: Coordinator;
let docs = 0;

beforeAll(async () => {
  coordinator = await startCoordinator({ reducer, port: 0, workers: 1 });
});
afterAll(() => coordinator.close());

const push = (
  from: number,
  count: number,
  body: (lsn: number) => object = (lsn) => create(`t${lsn}`),
): Push => pushOf(from, count, body);
const create = (id: string) => ({ type: 'create', id, title: id });

test('a client catching up from 0 receives every frame in order, and its pages equal the coordinator’s', async () => {
  const docId = `sync-${++docs}`;
  const writer = await TestSyncClient.connect(coordinator.url, { docId, timelineId: 'w' });
  await writer.next('welcome');
  for (let lsn = 0; lsn < 20; lsn += 2) {
    writer.send(push(lsn, 2));
    await writer.next('push-result', (r) => r.appliedLsn === lsn + 1);
  }
  const reader = await TestSyncClient.connect(coordinator.url, { docId, timelineId: 'r' });
  const welcome = await reader.next('welcome');
  await reader.reach(welcome.head);
  expect(reader.frameLsns).toEqual(Array.from({ length: welcome.head }, (_, i) => i));
  expect(reader.snapshots).toBe(0);
  expect(reader.violations).toEqual([]);
  expect(await reader.hash()).toBe(await coordinator.pageHash(docId));
  const last = reader.received.filter((m) => m.type === 'frames').at(-1);
  expect(last).toMatchObject({ more: false });
  await Promise.all([writer.close(), reader.close()]);
});

test('a push by one client reaches the other as a frame, before the pusher’s push-result', async () => {
  const docId = `sync-${++docs}`;
  const a = await TestSyncClient.connect(coordinator.url, { docId, timelineId: 'a' });
  const b = await TestSyncClient.connect(coordinator.url, { docId, timelineId: 'b' });
  const head = (await a.next('welcome')).head;
  await b.next('welcome');
  a.send(push(0, 1));
  const result = await a.next('push-result');
  expect(result).toMatchObject({ appliedLsn: 0, frameLsn: head, rejected: [], refused: null });
  const frameAt = a.received.findIndex((m) => m.type === 'frames' && m.frames[0]?.lsn === head);
  expect(frameAt).toBeGreaterThanOrEqual(0);
  expect(frameAt).toBeLessThan(a.received.indexOf(result));
  await b.reach(head + 1);
  expect(await b.hash()).toBe(await coordinator.pageHash(docId));
  expect([...a.violations, ...b.violations]).toEqual([]);
  await Promise.all([a.close(), b.close()]);
});

test('a small mutation costs the other client a frames message of under 1 KB, not whole pages', async () => {
  const docId = `sync-${++docs}`;
  const a = await TestSyncClient.connect(coordinator.url, { docId, timelineId: 'a' });
  const b = await TestSyncClient.connect(coordinator.url, { docId, timelineId: 'b' });
  await a.next('welcome');
  await b.next('welcome');
  a.send(push(0, 50));
  await a.next('push-result', (r) => r.appliedLsn === 49);
  const from = b.received.length;
  a.send(push(50, 1));
  const head = (await a.next('push-result', (r) => r.appliedLsn === 50)).frameLsn;
  const message = await b.next('frames', (m) => m.frames[0]?.lsn === head, from);
  const size = b.sizes[b.received.indexOf(message)] ?? Number.POSITIVE_INFINITY;
  // The pages it changed, sent whole (protocol v1), would cost PAGE_SIZE each.
  expect(message.frames[0]!.pages.length * PAGE_SIZE).toBeGreaterThan(8 * 1024);
  expect(size).toBeLessThan(1024);
  await b.reach((head ?? 0) + 1);
  expect(await b.hash()).toBe(await coordinator.pageHash(docId));
  expect([...a.violations, ...b.violations]).toEqual([]);
  await Promise.all([a.close(), b.close()]);
});

test('a gap is refused in push-result with the lsn to continue at, and changes nothing', async () => {
  const docId = `sync-${++docs}`;
  const client = await TestSyncClient.connect(coordinator.url, { docId });
  await client.next('welcome');
  client.send(push(0, 2));
  await client.next('push-result');
  const hash = await coordinator.pageHash(docId);
  client.send(push(5, 1));
  const result = await client.next('push-result', (r) => r.refused !== null);
  expect(result).toMatchObject({
    appliedLsn: 1,
    frameLsn: null,
    rejected: [],
    refused: { kind: 'gap', expectedLsn: 2 },
  });
  expect(await coordinator.pageHash(docId)).toBe(hash);
  await client.close();
});

test('a rejected mutation comes back in `rejected`, and its marker advances past it', async () => {
  const docId = `sync-${++docs}`;
  const client = await TestSyncClient.connect(coordinator.url, { docId });
  await client.next('welcome');
  client.send(push(0, 3, (lsn) => (lsn === 1 ? { type: 'toggle', id: 'ghost' } : create(`x${lsn}`))));
  const result = await client.next('push-result');
  expect(result.appliedLsn).toBe(2);
  expect(result.rejected.map((r) => r.lsn)).toEqual([1]);
  expect(result.rejected[0]?.reason.length).toBeGreaterThan(0);
  await client.reach((result.frameLsn ?? -2) + 1);
  // The marker travels in the pages the client received.
  const again = await TestSyncClient.connect(coordinator.url, { docId, timelineId: 'timeline' });
  expect(await again.next('welcome')).toMatchObject({ appliedLsn: 2 });
  await Promise.all([client.close(), again.close()]);
});

test('frames reach a client in order without gaps while pushes land during its catch-up', async () => {
  const docId = `sync-${++docs}`;
  const writer = await TestSyncClient.connect(coordinator.url, { docId, timelineId: 'w' });
  await writer.next('welcome');
  const readers: TestSyncClient[] = [];
  for (let lsn = 0; lsn < 30; lsn++) {
    writer.send(push(lsn, 1));
    if (lsn % 5 === 0)
      readers.push(await TestSyncClient.connect(coordinator.url, { docId, timelineId: `r${lsn}` }));
  }
  const last = await writer.next('push-result', (r) => r.appliedLsn === 29);
  const head = (last.frameLsn ?? 0) + 1;
  const hash = await coordinator.pageHash(docId);
  for (const reader of readers) {
    await reader.reach(head);
    expect(reader.violations).toEqual([]);
    expect(reader.frameLsns).toEqual(Array.from({ length: head }, (_, i) => i));
    expect(await reader.hash()).toBe(hash);
  }
  await Promise.all([writer, ...readers].map((c) => c.close()));
});

test('a client from another history (journalId) gets a snapshot, then converges', async () => {
  const docId = `sync-${++docs}`;
  const writer = await TestSyncClient.connect(coordinator.url, { docId, timelineId: 'w' });
  await writer.next('welcome');
  writer.send(push(0, 3));
  await writer.next('push-result');
  const stranger = await TestSyncClient.connect(coordinator.url, {
    docId,
    journalId: 'elsewhere',
    cursor: 2,
  });
  const welcome = await stranger.next('welcome');
  expect(welcome.journalId).not.toBe('elsewhere');
  await stranger.next('snapshot');
  await stranger.reach(welcome.head);
  expect(stranger.snapshots).toBe(1);
  expect(stranger.received.map((m) => m.type).slice(0, 2)).toEqual(['welcome', 'snapshot']);
  expect(await stranger.hash()).toBe(await coordinator.pageHash(docId));
  await Promise.all([writer.close(), stranger.close()]);
});
