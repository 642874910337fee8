// One owner per origin and document: the tabs of a browser context that open one document share one
// state through one owner (a dedicated worker in the tab elected by Web Lock), with one WebSocket; when
// the owner's tab closes, another tab takes over from the persisted document and nothing pending is lost.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Coordinator, startCoordinator } from '@tandem/coordinator';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { OwnerPageOpen } from './owner-page-api.js';
import { launchChromium } from './support/chromium.js';
import { type FixtureServer, REPO_ROOT, serveFixture } from './support/vite-server.js';

const TODO = join(REPO_ROOT, 'reducers/todo/dist/reducer.wasm');
let browser: Browser;
let server: FixtureServer;
let coordinator: Coordinator;
/** The prepared reducer the coordinator serves (what a browser runs), base64. */
let reducer: string;

beforeAll(async () => {
  [server, browser, coordinator] = await Promise.all([
    serveFixture(join(REPO_ROOT, 'e2e/fixtures/owner-page')),
    launchChromium(),
    startCoordinator({ reducer: await readFile(TODO), port: 0 }),
  ]);
  const current = (await (await fetch(`${coordinator.url}/reducers/current`)).json()) as { url: string };
  const bytes = await (await fetch(new URL(current.url, coordinator.url))).arrayBuffer();
  reducer = Buffer.from(bytes).toString('base64');
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await coordinator?.close();
});

async function tab(context: BrowserContext, errors: string[]): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  await page.goto(server.url);
  await page.waitForFunction(() => window.owner !== undefined);
  return page;
}

async function open(page: Page, options: Partial<OwnerPageOpen> & { docId: string }) {
  const opened = await page.evaluate((o) => window.owner.open(o), { reducer, ...options });
  if (!opened.ok) throw new Error(`open failed: ${opened.name} ${opened.kind ?? ''} ${opened.message}`);
  return opened.value;
}

async function idsOf(page: Page, expected: readonly string[]): Promise<void> {
  await page.waitForFunction((ids) => JSON.stringify(window.owner.ids()) === JSON.stringify(ids), expected, {
    timeout: 10_000,
  });
}

test('two tabs of one context share one document: an edit in one reaches the other tab’s subscription', async () => {
  const context = await browser.newContext();
  const errors: string[] = [];
  try {
    const a = await tab(context, errors);
    const b = await tab(context, errors);
    const first = await open(a, { docId: 'shared' });
    const second = await open(b, { docId: 'shared' });
    expect([first.isOwner, second.isOwner]).toEqual([true, false]);
    await a.evaluate(() => window.owner.mutate({ type: 'create', id: 'a1', title: 'from a' }));
    await idsOf(b, ['a1']);
    await b.evaluate(() => window.owner.mutate({ type: 'create', id: 'b1', title: 'from b' }));
    await idsOf(a, ['a1', 'b1']);
    expect(errors).toEqual([]);
  } finally {
    await context.close();
  }
});
