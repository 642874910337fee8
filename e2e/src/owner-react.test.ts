// The React hooks of @tandem/host-browser/react in Chromium: useQuery renders the rows and re-renders
// only when they change, useSyncState follows the status, useMutate is one function across renders.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { prepareReducer } from '@tandem/runtime/prepare';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type {} from './owner-react-page-api.js';
import { launchChromium } from './support/chromium.js';
import { type FixtureServer, REPO_ROOT, serveFixture } from './support/vite-server.js';

let browser: Browser;
let server: FixtureServer;
/** The prepared todo reducer (what a browser runs), base64. */
let reducer: string;

beforeAll(async () => {
  let prepared: Uint8Array;
  [server, browser, prepared] = await Promise.all([
    serveFixture(join(REPO_ROOT, 'e2e/fixtures/owner-page-react'), {
      prebundle: ['react', 'react-dom/client'],
    }),
    launchChromium(),
    readFile(join(REPO_ROOT, 'reducers/todo/dist/reducer.wasm')).then((bytes) => prepareReducer(bytes)),
  ]);
  reducer = Buffer.from(prepared).toString('base64');
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

const items = (page: Page) => page.locator('#todos li').allTextContents();

test('useQuery renders the rows and re-renders only when they change; useSyncState shows the last rejection', async () => {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  try {
    await page.goto(server.url);
    await page.waitForFunction(() => window.hooks !== undefined);
    await page.evaluate(([docId, bytes]) => window.hooks.render(docId, bytes), ['hooks', reducer] as const);
    await page.locator('#todos').waitFor({ state: 'attached' });
    expect(await items(page)).toEqual([]);

    await page.evaluate(() => window.hooks.mutate({ type: 'create', id: 'a', title: 'milk' }));
    await page.locator('#todos li').first().waitFor();
    await page.evaluate(() => window.hooks.mutate({ type: 'create', id: 'b', title: 'bread' }));
    await page.locator('#todos li').nth(1).waitFor();
    expect(await items(page)).toEqual(['milk', 'bread']);

    // Writes that leave the query's rows as they were (a completed todo, a rejected mutation): no render.
    const before = await page.evaluate(() => window.hooks.renders());
    await page.evaluate(() => window.hooks.mutate({ type: 'create', id: 'c', title: 'tea' }));
    await page.evaluate(() => window.hooks.mutate({ type: 'toggle', id: 'c' }));
    await page.evaluate(() => window.hooks.mutate({ type: 'create', id: 'a', title: 'again' }));
    await page.locator('#status', { hasText: "a todo with id 'a' already exists" }).waitFor();
    await page.waitForTimeout(100);
    const after = await page.evaluate(() => window.hooks.renders());
    expect(await items(page)).toEqual(['milk', 'bread']);
    // The create of `c` showed it until the toggle hid it: at most those two renders, never one per write.
    expect(after.list - before.list).toBeLessThanOrEqual(2);
    await page.evaluate(() => window.hooks.mutate({ type: 'rename', id: 'a', title: 'milk' }));
    await page.waitForTimeout(100);
    expect((await page.evaluate(() => window.hooks.renders())).list).toBe(after.list);
    expect(await page.evaluate(() => window.hooks.stableMutate())).toBe(true);
    expect(errors).toEqual([]);
  } finally {
    await page.close();
  }
});
