// One writer per data folder: a second coordinator, or a `recover`, on a folder a coordinator serves is
// refused naming the holder; the first goes on serving, and the folder is free again once it closes.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { recoverDocument } from './recover.js';
import { startCoordinator } from './server.js';
import { TestSyncClient } from './testing/sync-client.js';

const reducerPath = fileURLToPath(new URL('../../reducers/todo/dist/reducer.wasm', import.meta.url));
const reducer = new Uint8Array(await readFile(reducerPath));

test('a second coordinator or a recover on a data folder in use is refused with document-locked, and the first keeps serving', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'tandem-data-lock-'));
  const first = await startCoordinator({ reducer, dataDir, port: 0, workers: 1 });
  try {
    await expect(startCoordinator({ reducer, dataDir, port: 0, workers: 1 })).rejects.toMatchObject({
      kind: 'document-locked',
      message: expect.stringMatching(/in use by process \d+/),
    });
    await expect(recoverDocument({ dataDir, docId: 'any', acceptLoss: true })).rejects.toMatchObject({
      kind: 'document-locked',
    });
    const client = await TestSyncClient.connect(first.url, { docId: 'still-served' });
    expect(await client.next('welcome')).toMatchObject({ type: 'welcome' });
    await client.close();
  } finally {
    await first.close();
  }
  const next = await startCoordinator({ reducer, dataDir, port: 0, workers: 1 });
  await next.close();
  await rm(dataDir, { recursive: true, force: true });
});
