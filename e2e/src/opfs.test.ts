// Persistence in the browser: host-browser keeps a document in OPFS (a dedicated worker's synchronous
// access handles); a reload keeps everything.
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { OpfsReply, OpfsRequest } from './opfs-page-api.js';
import { launchChromium } from './support/chromium.js';
import { preparedReducerUrl } from './support/prepared-reducer.js';
import { type FixtureServer, REPO_ROOT, serveFixture } from './support/vite-server.js';

const TODO = join(REPO_ROOT, 'reducers/todo/dist/reducer.wasm');
let browser: Browser;
let server: FixtureServer;
let reducerUrl: string;

beforeAll(async () => {
  reducerUrl = await preparedReducerUrl(TODO);
  server = await serveFixture(join(REPO_ROOT, 'e2e/fixtures/opfs-page'));
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function inWorker(page: import('playwright-core').Page, request: OpfsRequest): Promise<OpfsReply> {
  await page.waitForFunction(() => typeof window.opfsInWorker === 'function');
  const reply = await page.evaluate((r) => window.opfsInWorker(r), request);
  expect(reply.error).toBeUndefined();
  return reply;
}

test('the OPFS byte store appends, reads, syncs, deletes and lists in a real Chromium worker', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await page.goto(server.url);
    const reply = await inWorker(page, { action: 'store' });
    expect(reply.store).toEqual({ read: [1, 2, 3], missing: true, names: ['a.log'] });
  } finally {
    await context.close();
  }
});

test('a document kept in OPFS is all there after a reload: its pages and its pending mutations', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const request = (mutations: readonly unknown[]): OpfsRequest => ({
    action: 'document',
    reducerUrl,
    docId: 'kept in OPFS',
    mutations,
  });
  try {
    await page.goto(server.url);
    const first = await inWorker(
      page,
      request([
        { type: 'create', id: 'a', title: 'milk' },
        { type: 'create', id: 'b', title: 'bread' },
        { type: 'toggle', id: 'a' },
      ]),
    );
    expect(first.warnings).toEqual([]);
    await page.reload();
    const second = await inWorker(page, request([]));
    expect(second.replayed).toBe(3);
    // Same rows; the pages may differ in their header (three commits then, one replay batch now) until
    // a coordinator's frames replace the unconfirmed overlay.
    expect(second.rows).toEqual(first.rows);
  } finally {
    await context.close();
  }
});
