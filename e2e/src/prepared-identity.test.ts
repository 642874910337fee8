// A reducer's identity in sync is the prepared (metered) code, not the component: a Node client that
// prepares the coordinator's component the same way runs the bytes the coordinator serves, and one
// that meters it otherwise (another meter version, other metered limits) is refused. Against a real
// coordinator, with host-node documents over real WebSockets.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Coordinator, startCoordinator } from '@tandem/coordinator';
import { openDocument } from '@tandem/host-node';
import { DEFAULT_LIMITS } from '@tandem/runtime';
import { prepareReducer } from '@tandem/runtime/prepare';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { REPO_ROOT } from './support/vite-server.js';

const TODO = join(REPO_ROOT, 'reducers/todo/dist/reducer.wasm');
const FAST = { backoffMs: 20, heartbeatMs: 1000 };
let coordinator: Coordinator;
let url: string;

beforeAll(async () => {
  coordinator = await startCoordinator({ reducer: await readFile(TODO), port: 0, workers: 1 });
  url = `ws://127.0.0.1:${coordinator.port}/sync`;
});
afterAll(async () => {
  await coordinator?.close();
});

test('a Node client preparing the component itself and one loading the bytes the coordinator serves run the same code: same identity, same pages', async () => {
  const served = new Uint8Array(
    await (await fetch(`${coordinator.url}/reducers/${coordinator.reducerHash}.wasm`)).arrayBuffer(),
  );
  expect(
    createHash('sha256')
      .update(await prepareReducer(await readFile(TODO)))
      .digest('hex'),
  ).toBe(coordinator.reducerHash);
  const own = await openDocument({ docId: 'same-code', reducer: TODO, coordinatorUrl: url, sync: FAST });
  const fetched = await openDocument({
    docId: 'same-code',
    reducer: served,
    coordinatorUrl: url,
    sync: FAST,
  });
  try {
    await own.mutate({ type: 'create', id: 'a', title: 'prepared here' });
    await fetched.mutate({ type: 'create', id: 'b', title: 'prepared by the coordinator' });
    await Promise.all([own.synced(), fetched.synced()]);
    for (const doc of [own, fetched]) {
      while ((await doc.query('SELECT count(*) AS n FROM todos'))[0]?.n !== 2) {
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    const hash = await coordinator.pageHash('same-code');
    expect(await own.pageHash()).toBe(hash);
    expect(await fetched.pageHash()).toBe(hash);
  } finally {
    await own.close();
    await fetched.close();
  }
});

test('a client running the same component metered under other limits is refused with reducer-mismatch', async () => {
  const doc = await openDocument({
    docId: 'other-metering',
    reducer: TODO,
    limits: { maxStackBytes: DEFAULT_LIMITS.maxStackBytes / 2 },
    coordinatorUrl: url,
    sync: FAST,
  });
  try {
    await doc.mutate({ type: 'create', id: 'a', title: 'metered otherwise' });
    await expect(doc.synced()).rejects.toMatchObject({
      name: 'TandemError',
      kind: 'sync-failed',
      fields: { reason: 'reducer-mismatch' },
    });
  } finally {
    await doc.close();
  }
});
