// A tab whose app ships a newer reducer than the coordinator runs (issue 12, must-show 2, in Chromium):
// its owner worker hears version 1 in the welcome, says it waits for the coordinator
// (`waiting-for-reducer`, with both reducers in `waitingFor`), keeps every edit local and pending while
// it still takes the frames the coordinator sends, and syncs them without loss once version 2 is
// deployed (POST /admin/reducers), without a reload.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCoordinator } from '@tandem/coordinator';
import { openDocument } from '@tandem/host-node';
import { prepareReducer } from '@tandem/runtime/prepare';
import { expect, test } from 'vitest';
import type { OwnerPageStatus } from './owner-page-api.js';
import { useBrowserRig } from './support/browser-rig.js';
import { callOwner, mutateOwner, openOwner, untilStatus } from './support/owner-page.js';
import { REPO_ROOT } from './support/vite-server.js';

const TODO_V1 = join(REPO_ROOT, 'e2e/fixtures/todo-v1-reducer/dist/reducer.wasm');
const TODO_V2 = join(REPO_ROOT, 'reducers/todo/dist/reducer.wasm');
const TOKEN = 'operator-token-for-the-waiting-tab';

const rig = useBrowserRig('owner-page');

test('a tab whose app ships v2 before the coordinator has it waits for it, edits locally, and syncs without loss once v2 is deployed', async () => {
  const scratch = await mkdtemp(join(tmpdir(), 'tandem-waiting-browser-'));
  const coordinator = await startCoordinator({
    reducer: await readFile(TODO_V1),
    dataDir: join(scratch, 'coordinator'),
    port: 0,
    operatorToken: TOKEN,
  });
  const coordinatorUrl = `${coordinator.url.replace('http', 'ws')}/sync`;
  const context = await rig.browser.newContext();
  const errors: string[] = [];
  const node = { doc: undefined as Awaited<ReturnType<typeof openDocument>> | undefined };
  try {
    node.doc = await openDocument({ docId: 'waiting', reducer: TODO_V1, coordinatorUrl });
    await node.doc.mutate({ type: 'create', id: 'old0', title: 'from v1' });
    await node.doc.synced();
    const v1 = { hash: coordinator.reducerHash, schemaVersion: 1 };

    // The app ships version 2, prepared as the coordinator will prepare it once deployed.
    const v2Bytes = await prepareReducer(await readFile(TODO_V2));
    const v2 = { hash: createHash('sha256').update(v2Bytes).digest('hex'), schemaVersion: 2 };
    const page = await context.newPage();
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(rig.server.url);
    await page.waitForFunction(() => window.owner !== undefined);
    await openOwner(page, Buffer.from(v2Bytes).toString('base64'), { docId: 'waiting', coordinatorUrl });
    await untilStatus(page, "s.syncState === 'waiting-for-reducer'");
    const waiting: OwnerPageStatus = await page.evaluate(() => window.owner.status());
    expect(waiting.waitingFor).toEqual({ ...v2, coordinator: v1 });
    expect(waiting.reducer).toEqual(v2);

    // It edits as if offline, with version 2's own mutation, and still takes the coordinator's frames.
    const lsns = [
      await mutateOwner(page, { type: 'create', id: 'e0', title: 'early 0' }),
      await mutateOwner(page, { type: 'create', id: 'e1', title: 'early 1' }),
      await mutateOwner(page, { type: 'setPriority', id: 'e1', priority: 5 }),
    ];
    await node.doc.mutate({ type: 'create', id: 'old1', title: 'from v1, later' });
    await node.doc.synced();
    await page.waitForFunction(() => JSON.stringify(window.owner.ids()) === '["e0","e1","old0","old1"]');
    // Nothing of it reached the coordinator, which runs version 1 still.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await page.evaluate(() => window.owner.status())).toMatchObject({
      syncState: 'waiting-for-reducer',
      pendingCount: 3,
    });
    await node.doc.caughtUp();
    expect(await node.doc.query('SELECT id FROM todos ORDER BY id')).toEqual([
      { id: 'old0' },
      { id: 'old1' },
    ]);

    const response = await fetch(`${coordinator.url}/admin/reducers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: new Blob([new Uint8Array(await readFile(TODO_V2))]),
    });
    expect(response.status, await response.clone().text()).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'deployed' });
    expect(coordinator.reducerHash).toBe(v2.hash);

    await untilStatus(page, "s.syncState === 'live' && s.pendingCount === 0 && s.waitingFor === undefined");
    await callOwner(page, () => window.owner.synced());
    for (const lsn of lsns) {
      const fate = await page.evaluate((at) => window.owner.fate(at), lsn);
      expect(fate).toEqual({ ok: true, value: { lsn, status: 'confirmed' } });
    }
    const rows = [
      { id: 'e0', priority: 0 },
      { id: 'e1', priority: 5 },
      { id: 'old0', priority: 0 },
      { id: 'old1', priority: 0 },
    ];
    expect(
      await callOwner<readonly Record<string, unknown>[]>(page, () =>
        window.owner.query('SELECT id, priority FROM todos ORDER BY id'),
      ),
    ).toEqual(rows);
    await expect.poll(() => node.doc?.reducer.hash, { timeout: 20_000 }).toBe(v2.hash);
    await node.doc.caughtUp();
    expect(await node.doc.query('SELECT id, priority FROM todos ORDER BY id')).toEqual(rows);
    const hash = await coordinator.pageHash('waiting');
    expect(await callOwner(page, () => window.owner.pageHash())).toBe(hash);
    expect(await node.doc.pageHash()).toBe(hash);
    expect(errors).toEqual([]);
  } finally {
    await node.doc?.close();
    await context.close();
    await coordinator.close();
    await rm(scratch, { recursive: true, force: true });
  }
}, 120_000);
