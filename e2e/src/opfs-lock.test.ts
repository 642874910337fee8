// One writer per document in the browser too: a document kept in OPFS is held by the worker that
// opened it, and a second open (another worker, or the same one) is refused with `document-locked`
// instead of a second writer giving out the same lsns.
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { OpfsLockReply, OpfsLockRequest } from './opfs-lock-page-api.js';
import { launchChromium } from './support/chromium.js';
import { preparedReducerUrl } from './support/prepared-reducer.js';
import { type FixtureServer, REPO_ROOT, serveFixture } from './support/vite-server.js';

const TODO = join(REPO_ROOT, 'reducers/todo/dist/reducer.wasm');
let browser: Browser;
let server: FixtureServer;

beforeAll(async () => {
  server = await serveFixture(join(REPO_ROOT, 'e2e/fixtures/opfs-lock-page'));
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function ask(page: Page, worker: string, request: OpfsLockRequest): Promise<OpfsLockReply> {
  await page.waitForFunction(() => typeof window.lockWorker === 'function');
  return page.evaluate(([w, r]) => window.lockWorker(w, r), [worker, request] as const);
}

test('a second open of an OPFS document is refused with document-locked, from another worker and from the same one, until the holder closes or dies', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const open: OpfsLockRequest = { op: 'open', reducerUrl: await preparedReducerUrl(TODO), docId: 'held' };
  const refused = { outcome: 'refused', kind: 'document-locked' };
  try {
    await page.goto(server.url);
    expect(await ask(page, 'a', open)).toEqual({ outcome: 'opened' });
    await ask(page, 'a', { op: 'mutate', mutation: { type: 'create', id: 'x', title: 'by a' } });
    expect(await ask(page, 'b', open)).toMatchObject(refused);
    expect(await ask(page, 'a', open)).toMatchObject(refused);
    // The refusals changed nothing for the holder.
    await ask(page, 'a', { op: 'mutate', mutation: { type: 'create', id: 'y', title: 'by a' } });
    expect((await ask(page, 'a', { op: 'rows' })).rows).toEqual([{ id: 'x' }, { id: 'y' }]);

    // Closed: the next open takes it, with everything the holder wrote.
    await ask(page, 'a', { op: 'close' });
    expect(await ask(page, 'b', open)).toEqual({ outcome: 'opened' });
    expect((await ask(page, 'b', { op: 'rows' })).rows).toEqual([{ id: 'x' }, { id: 'y' }]);
    expect(await ask(page, 'c', open)).toMatchObject(refused);

    // A holder that dies without closing (a crashed tab) blocks nothing once the browser ends it.
    await page.evaluate(() => window.terminateWorker('b'));
    let reply = await ask(page, 'c', open);
    for (let tries = 0; reply.outcome === 'refused' && tries < 50; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      reply = await ask(page, 'c', open);
    }
    expect(reply).toEqual({ outcome: 'opened' });
    expect((await ask(page, 'c', { op: 'rows' })).rows).toEqual([{ id: 'x' }, { id: 'y' }]);
    await ask(page, 'c', { op: 'close' });
  } finally {
    await context.close();
  }
}, 120_000);
