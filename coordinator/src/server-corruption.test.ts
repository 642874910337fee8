import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Push } from '@tandem/runtime';
import { expect, test } from 'vitest';
import { startCoordinator } from './server.js';
import { TestSyncClient } from './testing/sync-client.js';

const reducer = new Uint8Array(
  await readFile(new URL('../../reducers/todo/dist/reducer.wasm', import.meta.url)),
);

function push(lsn: number): Push {
  return {
    type: 'push',
    mutations: [
      {
        lsn,
        timestamp: 1_700_000_000_000 + lsn,
        payload: new TextEncoder().encode(JSON.stringify({ type: 'create', id: `t${lsn}`, title: 'x' })),
      },
    ],
  };
}

/** Pushes `count` todos to `docId`, one frame each, and waits until they are acknowledged. */
async function fill(url: string, docId: string, count: number): Promise<number> {
  const client = await TestSyncClient.connect(url, { docId, timelineId: `${docId}-writer` });
  await client.next('welcome');
  for (let lsn = 0; lsn < count; lsn++) {
    client.send(push(lsn));
    await client.next('push-result', (r) => r.appliedLsn === lsn);
  }
  const head = (await client.next('push-result', (r) => r.appliedLsn === count - 1)).frameLsn ?? -1;
  await client.close();
  return head + 1;
}

/** Flips one byte in the middle of the document's (only) frame log segment. */
async function damageFrameLog(dataDir: string, docId: string): Promise<string> {
  const folder = join(dataDir, docId);
  const segment = (await readdir(folder)).find((name) => name.startsWith('frames.'));
  if (segment === undefined) throw new Error(`no frame log in ${folder}`);
  const bytes = await readFile(join(folder, segment));
  const at = Math.floor(bytes.length / 2);
  bytes[at] = bytes[at]! ^ 0x01;
  await writeFile(join(folder, segment), bytes);
  return segment;
}

test('a document whose journal lost acknowledged frames is refused to every client with document-unavailable, while the others are served', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'tandem-corrupt-'));
  try {
    const first = await startCoordinator({ reducer, port: 0, workers: 1, dataDir });
    const head = await fill(first.url, 'damaged', 40);
    const healthyHead = await fill(first.url, 'healthy', 3);
    await first.close();
    const segment = await damageFrameLog(dataDir, 'damaged');

    const second = await startCoordinator({ reducer, port: 0, workers: 1, dataDir });
    try {
      for (const timelineId of ['a', 'b']) {
        const client = await TestSyncClient.connect(second.url, { docId: 'damaged', timelineId });
        const error = await client.next('error');
        expect(error.kind).toBe('document-unavailable');
        expect(error.retryAfterMs).toBeGreaterThan(0);
        expect(error.message).toContain(segment);
        expect(error.message).toContain(`of the ${head} frames`);
        expect(client.received.some((m) => m.type === 'welcome')).toBe(false);
        expect((await client.closed).code).toBe(1011);
      }
      const healthy = await TestSyncClient.connect(second.url, { docId: 'healthy', timelineId: 'c' });
      expect((await healthy.next('welcome')).head).toBe(healthyHead);
      await healthy.reach(healthyHead);
      await healthy.close();
      const metrics = await (await fetch(`${second.url}/metrics`)).text();
      expect(metrics).toContain('tandem_connection_errors_total{kind="document-unavailable"} 2');
    } finally {
      await second.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}, 60_000);
