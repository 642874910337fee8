// An upgraded tab reloads while its coordinator is down (issue 12, in Chromium, on real OPFS): the app
// still ships version 1, the coordinator had moved the tab to version 2 over its WebSocket. The reload
// opens from OPFS on version 2, kept beside the schema mark (runtime storage/schema-mark.ts invariant 4),
// with the new column's data and the pending edits, never refused. With a byte of that kept reducer
// flipped, the same reload is refused with `reducer-too-old` saying the copy is damaged, and no OPFS byte
// changes. Once the coordinator is back, the reload opens with its current reducer (fetched), which is
// kept in the damaged copy's place: the next reload without the coordinator opens on it again.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCoordinator } from '@tandem/coordinator';
import { expect, test } from 'vitest';
import { useBrowserRig } from './support/browser-rig.js';
import { flipOpfsByte, opfsFiles } from './support/opfs-files.js';
import { callOwner, mutateOwner, openOwner, untilStatus } from './support/owner-page.js';
import { REPO_ROOT } from './support/vite-server.js';

const TODO_V1 = join(REPO_ROOT, 'e2e/fixtures/todo-v1-reducer/dist/reducer.wasm');
const TODO_V2 = join(REPO_ROOT, 'reducers/todo/dist/reducer.wasm');

const rig = useBrowserRig('owner-page');

test('a tab upgraded to v2 reloads offline from OPFS on the kept v2, is refused reducer-too-old writing nothing once that copy is damaged, and keeps the coordinator’s v2 it then fetched', async () => {
  const scratch = await mkdtemp(join(tmpdir(), 'tandem-offline-reload-'));
  const start = async (reducer: string) =>
    startCoordinator({ reducer: await readFile(reducer), dataDir: join(scratch, 'coordinator'), port: 0 });
  let coordinator = await start(TODO_V1);
  let coordinatorUrl = `${coordinator.url.replace('http', 'ws')}/sync`;
  const context = await rig.browser.newContext();
  const errors: string[] = [];
  try {
    // The app ships version 1: the prepared bytes the coordinator serves now.
    const v1 = Buffer.from(
      await (await fetch(`${coordinator.url}/reducers/${coordinator.reducerHash}.wasm`)).arrayBuffer(),
    ).toString('base64');
    const page = await context.newPage();
    page.on('pageerror', (error) => errors.push(error.message));
    const tab = async () => {
      await page.goto(rig.server.url);
      await page.waitForFunction(() => window.owner !== undefined);
    };
    await tab();
    await openOwner(page, v1, { docId: 'reload', coordinatorUrl });
    await mutateOwner(page, { type: 'create', id: 'x1', title: 'synced' });
    await callOwner(page, () => window.owner.synced());

    // Version 2 deployed: the tab's next welcome moves it there.
    await page.evaluate(() => window.owner.goOffline());
    expect((await coordinator.deploy(new Uint8Array(await readFile(TODO_V2)))).status).toBe('deployed');
    const v2 = { hash: coordinator.reducerHash, schemaVersion: 2 };
    await page.evaluate(() => window.owner.goOnline());
    await untilStatus(page, `s.reducer?.hash === '${v2.hash}' && s.syncState === 'live'`);
    await mutateOwner(page, { type: 'setPriority', id: 'x1', priority: 4 });
    await callOwner(page, () => window.owner.synced());
    // Offline first: a live tab would have these confirmed within milliseconds, and the reload must find
    // them pending.
    await page.evaluate(() => window.owner.goOffline());
    await mutateOwner(page, { type: 'setPriority', id: 'x1', priority: 7 });
    await mutateOwner(page, { type: 'create', id: 'p1', title: 'pending', priority: 2 });
    await untilStatus(page, 's.pendingCount === 2');

    // The coordinator goes down; the tab reloads with the app's version 1.
    await coordinator.close();
    await tab();
    const reopened = await openOwner(page, v1, { docId: 'reload', coordinatorUrl });
    expect(reopened.reducer).toEqual(v2);
    expect(reopened.pendingCount).toBe(2);
    const rows = [
      { id: 'p1', priority: 2 },
      { id: 'x1', priority: 7 },
    ];
    const query = () =>
      callOwner<readonly Record<string, unknown>[]>(page, () =>
        window.owner.query('SELECT id, priority FROM todos ORDER BY id'),
      );
    expect(await query()).toEqual(rows);
    await page.evaluate(() => window.owner.close());

    // A byte of the kept reducer flips: it is never run, the open is refused and writes nothing.
    const files = await opfsFiles(page);
    const kept = Object.keys(files).filter((path) => /(^|\/)reducer\.[^/]*$/.test(path));
    expect(kept).toHaveLength(1);
    await flipOpfsByte(page, kept[0]!, -40);
    await tab();
    const before = await opfsFiles(page);
    expect(before[kept[0]!]).not.toBe(files[kept[0]!]);
    const refused = await page.evaluate((o) => window.owner.open(o), {
      reducer: v1,
      docId: 'reload',
      coordinatorUrl,
    });
    expect(refused).toMatchObject({ ok: false, tandem: true, kind: 'reducer-too-old' });
    expect(refused.ok === false && refused.message).toMatch(/schema version 2 .*version 1.*damaged/);
    expect(await opfsFiles(page)).toEqual(before);

    // The coordinator is back: its current version 2 opens the tab, and is kept; then it goes again.
    coordinator = await start(TODO_V2);
    coordinatorUrl = `${coordinator.url.replace('http', 'ws')}/sync`;
    expect((await openOwner(page, v1, { docId: 'reload', coordinatorUrl })).reducer).toEqual(v2);
    await callOwner(page, () => window.owner.synced());
    await page.evaluate(() => window.owner.close());
    await coordinator.close();
    await tab();
    expect((await openOwner(page, v1, { docId: 'reload', coordinatorUrl })).reducer).toEqual(v2);
    expect(await query()).toEqual(rows);
    expect(errors).toEqual([]);
  } finally {
    await context.close();
    await coordinator.close().catch(() => undefined);
    await rm(scratch, { recursive: true, force: true });
  }
}, 60_000);
