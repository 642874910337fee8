// Reducer negotiation in Chromium (issue 12, must-show 7): a tab whose document runs the todo reducer
// version 1, with edits pending, hears the coordinator's version 2 in its welcome; its owner worker
// fetches it by hash, checks and loads it, reduces the pending edits again under it, and the tab shows
// the new column's data. A reload of the tab, whose app still ships version 1, opens the upgraded files
// with the coordinator's current reducer and loses nothing.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCoordinator } from '@tandem/coordinator';
import { openDocument } from '@tandem/host-node';
import { expect, test } from 'vitest';
import type { OwnerPageStatus } from './owner-page-api.js';
import { useBrowserRig } from './support/browser-rig.js';
import { callOwner, mutateOwner, openOwner, untilStatus } from './support/owner-page.js';
import { REPO_ROOT } from './support/vite-server.js';

const TODO_V1 = join(REPO_ROOT, 'e2e/fixtures/todo-v1-reducer/dist/reducer.wasm');
const TODO_V2 = join(REPO_ROOT, 'reducers/todo/dist/reducer.wasm');
const TOKEN = 'operator-token-for-the-browser-upgrade';

const rig = useBrowserRig('owner-page');

test('a tab on v1 with pending edits is upgraded by the coordinator’s answer, shows the new column, and a reload loses nothing', async () => {
  const scratch = await mkdtemp(join(tmpdir(), 'tandem-upgrade-browser-'));
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
    // The app ships version 1: the prepared bytes the coordinator serves now.
    const v1Bytes = await (
      await fetch(`${coordinator.url}/reducers/${coordinator.reducerHash}.wasm`)
    ).arrayBuffer();
    const v1 = Buffer.from(v1Bytes).toString('base64');
    const v1Hash = coordinator.reducerHash;
    const page = await context.newPage();
    page.on('pageerror', (error) => errors.push(error.message));
    const tab = async () => {
      await page.goto(rig.server.url);
      await page.waitForFunction(() => window.owner !== undefined);
      return openOwner(page, v1, { docId: 'upgrade', coordinatorUrl });
    };
    await tab();
    await mutateOwner(page, { type: 'create', id: 'x1', title: 'synced' });
    await callOwner(page, () => window.owner.synced());

    await page.evaluate(() => window.owner.goOffline());
    for (const id of ['p1', 'p2', 'p3']) {
      await mutateOwner(page, { type: 'create', id, title: `pending ${id}` });
    }
    await untilStatus(page, 's.pendingCount === 3');

    const deployed = await coordinator.deploy(new Uint8Array(await readFile(TODO_V2)));
    expect(deployed.status).toBe('deployed');
    const v2Hash = coordinator.reducerHash;
    node.doc = await openDocument({ docId: 'upgrade', reducer: TODO_V2, coordinatorUrl });
    await node.doc.mutate({ type: 'setPriority', id: 'x1', priority: 4 });
    await node.doc.synced();

    await page.evaluate(() => window.owner.goOnline());
    await untilStatus(page, `s.reducer?.hash === '${v2Hash}' && s.pendingCount === 0`);
    await callOwner(page, () => window.owner.synced());
    const upgrade = { from: { hash: v1Hash, schemaVersion: 1 }, to: { hash: v2Hash, schemaVersion: 2 } };
    expect(await page.evaluate(() => window.owner.upgrades())).toEqual([upgrade]);
    const status: OwnerPageStatus = await page.evaluate(() => window.owner.status());
    expect(status).toMatchObject({
      syncState: 'live',
      reducer: upgrade.to,
      upgraded: upgrade,
      persisted: true,
    });
    const rows = () =>
      callOwner<readonly Record<string, unknown>[]>(page, () =>
        window.owner.query('SELECT id, priority FROM todos ORDER BY id'),
      );
    await page.waitForFunction(() => JSON.stringify(window.owner.ids()) === '["p1","p2","p3","x1"]');
    expect(await rows()).toEqual([
      { id: 'p1', priority: 0 },
      { id: 'p2', priority: 0 },
      { id: 'p3', priority: 0 },
      { id: 'x1', priority: 4 },
    ]);

    // Edits under version 2 wait offline, then the tab reloads: its app still ships version 1.
    await page.evaluate(() => window.owner.goOffline());
    await mutateOwner(page, { type: 'setPriority', id: 'p1', priority: 7 });
    await mutateOwner(page, { type: 'create', id: 'p4', title: 'before the reload' });
    await untilStatus(page, 's.pendingCount === 2');
    const reopened = await tab();
    expect(reopened.reducer).toEqual(upgrade.to);
    await callOwner(page, () => window.owner.synced());
    expect(await rows()).toEqual([
      { id: 'p1', priority: 7 },
      { id: 'p2', priority: 0 },
      { id: 'p3', priority: 0 },
      { id: 'p4', priority: 0 },
      { id: 'x1', priority: 4 },
    ]);
    await node.doc.caughtUp();
    const hash = await coordinator.pageHash('upgrade');
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
