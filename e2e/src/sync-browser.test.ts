// Sync with Chromium in the loop: a browser worker (host-browser, the browser's WebSocket) and a Node
// client (host-node) edit one document through a real coordinator and end on the same pages. The
// browser runs the prepared reducer the coordinator serves (found through `/reducers/current`), the
// Node client prepares the component itself: a welcome checks that both hash the same bytes.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Coordinator, startCoordinator } from '@tandem/coordinator';
import { openDocument } from '@tandem/host-node';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { launchChromium } from './support/chromium.js';
import { type FixtureServer, REPO_ROOT, serveFixture } from './support/vite-server.js';
import type {} from './sync-page-api.js';

const TODO = join(REPO_ROOT, 'reducers/todo/dist/reducer.wasm');
let browser: Browser;
let server: FixtureServer;
let coordinator: Coordinator;

beforeAll(async () => {
  server = await serveFixture(join(REPO_ROOT, 'e2e/fixtures/sync-page'));
  browser = await launchChromium();
  coordinator = await startCoordinator({ reducer: await readFile(TODO), port: 0 });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await coordinator?.close();
});

test('a Chromium worker and a Node client converge through the coordinator on the same pages', async () => {
  const docId = 'browser-and-node';
  const url = `${coordinator.url.replace('http', 'ws')}/sync`;
  const node = await openDocument({ docId, reducer: TODO, coordinatorUrl: url, sync: { backoffMs: 20 } });
  await node.mutate({ type: 'create', id: 'n', title: 'from node' });
  await node.synced();

  const current = (await (await fetch(`${coordinator.url}/reducers/current`)).json()) as { url: string };
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(server.url);
    await page.waitForFunction(() => typeof window.syncInWorker === 'function');
    const reply = await page.evaluate((request) => window.syncInWorker(request), {
      reducerUrl: new URL(current.url, coordinator.url).href,
      coordinatorUrl: url,
      docId,
      mutations: [
        { type: 'create', id: 'b', title: 'from the browser' },
        { type: 'create', id: 'n', title: 'taken already' },
      ],
      expectRows: 2,
    });
    expect(reply.error, errors.join('\n')).toBeUndefined();
    expect(reply.fates).toEqual(['confirmed', 'rejected']);
    expect(reply.rows).toEqual([
      { id: 'b', title: 'from the browser' },
      { id: 'n', title: 'from node' },
    ]);
    expect(reply.hash).toBe(await coordinator.pageHash(docId));
    while ((await node.query('SELECT count(*) AS n FROM todos'))[0]?.n !== 2)
      await new Promise((r) => setTimeout(r, 10));
    expect(await node.pageHash()).toBe(reply.hash);
  } finally {
    await page.close();
    await node.close();
  }
});
