import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Push } from '@tandem/runtime';
import { expect, test } from 'vitest';
import { startCoordinator } from './server.js';
import { TestSyncClient } from './testing/sync-client.js';

const reducer = new Uint8Array(
  await readFile(new URL('../../reducers/todo/dist/reducer.wasm', import.meta.url)),
);

function push(from: number, count: number): Push {
  return {
    type: 'push',
    mutations: Array.from({ length: count }, (_, i) => ({
      lsn: from + i,
      timestamp: 1_700_000_000_000 + from + i,
      payload: new TextEncoder().encode(JSON.stringify({ type: 'create', id: `t${from + i}`, title: 'x' })),
    })),
  };
}

test('a client with an old cursor after checkpoints gets a snapshot, then frames, and converges', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'tandem-sync-'));
  const small = await startCoordinator({ reducer, port: 0, workers: 1, dataDir, checkpointEvery: 4 });
  try {
    const docId = 'checkpointed';
    const writer = await TestSyncClient.connect(small.url, { docId, timelineId: 'w' });
    const { journalId } = await writer.next('welcome');
    for (let lsn = 0; lsn < 10; lsn++) {
      writer.send(push(lsn, 1));
      await writer.next('push-result', (r) => r.appliedLsn === lsn);
    }
    const old = await TestSyncClient.connect(small.url, { docId, timelineId: 'o', journalId, cursor: 1 });
    const welcome = await old.next('welcome');
    await old.reach(welcome.head);
    expect(old.snapshots).toBe(1);
    expect(old.violations).toEqual([]);
    expect(await old.hash()).toBe(await small.pageHash(docId));
    writer.send(push(10, 1));
    await old.reach(welcome.head + 1);
    expect(await old.hash()).toBe(await small.pageHash(docId));
    await Promise.all([writer.close(), old.close()]);
  } finally {
    await small.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('a restarted coordinator over the same data keeps its documents and their journalId', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'tandem-sync-'));
  try {
    const first = await startCoordinator({ reducer, port: 0, workers: 1, dataDir });
    const client = await TestSyncClient.connect(first.url, { docId: 'kept', timelineId: 'k' });
    const welcome = await client.next('welcome');
    client.send(push(0, 4));
    const result = await client.next('push-result');
    await client.reach((result.frameLsn ?? -2) + 1);
    const hash = await first.pageHash('kept');
    await first.close();
    expect((await client.closed).code).toBe(1001);

    const second = await startCoordinator({ reducer, port: 0, workers: 1, dataDir });
    const back = await TestSyncClient.connect(second.url, {
      docId: 'kept',
      timelineId: 'k',
      journalId: welcome.journalId,
      cursor: client.cursor,
    });
    expect(await back.next('welcome')).toMatchObject({
      journalId: welcome.journalId,
      head: client.cursor,
      appliedLsn: 3,
    });
    expect(await second.pageHash('kept')).toBe(hash);
    expect(back.snapshots).toBe(0);
    await back.close();
    await second.close();
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
