// One owner per origin and document: the tabs of a browser context that open one document share one
// state through one owner (a dedicated worker in the tab elected by Web Lock), with one WebSocket; when
// the owner's tab closes, another tab takes over from the persisted document and nothing pending is lost.
import { readFile } from 'node:fs/promises';
import { type Coordinator, startCoordinator } from '@tandem/coordinator';
import type { BrowserContext, Page } from 'playwright-core';
import { expect, test } from 'vitest';
import { TODO_REDUCER, useBrowserRig } from './support/browser-rig.js';
import { launchChromium } from './support/chromium.js';
import { type OwnerOpenOptions, openOwner, untilStatus } from './support/owner-page.js';

const rig = useBrowserRig('owner-page');

async function tab(context: BrowserContext, errors: string[], query = ''): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  await page.goto(`${rig.server.url}${query}`);
  await page.waitForFunction(() => window.owner !== undefined);
  return page;
}

const open = (page: Page, options: OwnerOpenOptions) => openOwner(page, rig.reducer, options);

async function idsOf(page: Page, expected: readonly string[]): Promise<void> {
  await page.waitForFunction((ids) => JSON.stringify(window.owner.ids()) === JSON.stringify(ids), expected, {
    timeout: 10_000,
  });
}

/** A gauge or counter from the coordinator's /metrics (0 when absent). */
async function metric(on: Coordinator, name: string): Promise<number> {
  const text = await (await fetch(`${on.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? 0 : Number(line.slice(name.length + 1));
}

const statusOf = (page: Page, check: string) => untilStatus(page, check, 10_000);

const syncUrl = (on: Coordinator) => `${on.url.replace('http', 'ws')}/sync`;

test('two tabs of one context share one document and one WebSocket; with the coordinator stopped, an edit in one still reaches the other', async () => {
  const own = await startCoordinator({ reducer: await readFile(TODO_REDUCER), port: 0 });
  const context = await rig.browser.newContext();
  const errors: string[] = [];
  try {
    const a = await tab(context, errors);
    const b = await tab(context, errors);
    const options = { docId: 'shared', coordinatorUrl: syncUrl(own) };
    const first = await open(a, options);
    const second = await open(b, options);
    expect([first.isOwner, second.isOwner]).toEqual([true, false]);
    await a.evaluate(() => window.owner.mutate({ type: 'create', id: 'a1', title: 'from a' }));
    await idsOf(b, ['a1']);
    await statusOf(b, "s.syncState === 'live' && s.pendingCount === 0");
    expect(await metric(own, 'tandem_connections')).toBe(1);

    await own.close();
    await statusOf(a, "s.syncState !== 'live'");
    await b.evaluate(() => window.owner.mutate({ type: 'create', id: 'b1', title: 'from b' }));
    await idsOf(a, ['a1', 'b1']);
    await a.evaluate(() => window.owner.mutate({ type: 'delete', id: 'a1' }));
    await idsOf(b, ['b1']);
    await statusOf(b, 's.pendingCount === 2');
    expect(errors).toEqual([]);
  } finally {
    await context.close();
    await own.close();
  }
});

test('closing the owner tab with edits made offline: the other tab takes over from the persisted document and the edits reach the coordinator exactly once', async () => {
  const docId = 'taken-over';
  const context = await rig.browser.newContext();
  const errors: string[] = [];
  try {
    const a = await tab(context, errors);
    const b = await tab(context, errors);
    const options = { docId, coordinatorUrl: rig.syncUrl };
    expect((await open(a, options)).isOwner).toBe(true);
    expect((await open(b, options)).isOwner).toBe(false);
    await a.evaluate(() => window.owner.mutate({ type: 'create', id: 'x', title: 'first' }));
    expect(await a.evaluate(() => window.owner.synced())).toEqual({ ok: true });

    // Offline, toggle and rename from both tabs: a toggle applied twice (or never) would show.
    await b.evaluate(() => window.owner.goOffline());
    await statusOf(a, "s.syncState === 'offline' && !s.online");
    await a.evaluate(() => window.owner.mutate({ type: 'toggle', id: 'x' }));
    await b.evaluate(() => window.owner.mutate({ type: 'rename', id: 'x', title: 'renamed in b' }));
    await b.evaluate(() => window.owner.mutate({ type: 'create', id: 'y', title: 'made in b' }));
    await statusOf(b, 's.pendingCount === 3');

    await a.close();
    await statusOf(b, 's.isOwner');
    expect(await b.evaluate(() => window.owner.synced())).toEqual({ ok: true });
    await statusOf(b, "s.syncState === 'live' && s.pendingCount === 0 && s.rejections.length === 0");
    expect(
      await b.evaluate(() => window.owner.query('SELECT id, title, completed FROM todos ORDER BY id')),
    ).toEqual({
      ok: true,
      value: [
        { id: 'x', title: 'renamed in b', completed: 1 },
        { id: 'y', title: 'made in b', completed: 0 },
      ],
    });
    const hash = await b.evaluate(() => window.owner.pageHash());
    expect(hash).toEqual({ ok: true, value: await rig.coordinator.pageHash(docId) });
    expect(errors).toEqual([]);
  } finally {
    await context.close();
  }
});

test('closing the document in the owner tab hands it to another tab, which carries on from the persisted document', async () => {
  const context = await rig.browser.newContext();
  const errors: string[] = [];
  try {
    const a = await tab(context, errors);
    const b = await tab(context, errors);
    await open(a, { docId: 'handed-over' });
    await open(b, { docId: 'handed-over' });
    await a.evaluate(() => window.owner.mutate({ type: 'create', id: 'h1', title: 'before' }));
    await idsOf(b, ['h1']);
    await a.evaluate(() => window.owner.close());
    expect(await a.evaluate(() => window.owner.mutate({ type: 'delete', id: 'h1' }))).toMatchObject({
      ok: false,
      kind: 'closed',
    });
    await statusOf(b, 's.isOwner && s.persisted');
    await b.evaluate(() => window.owner.mutate({ type: 'create', id: 'h2', title: 'after' }));
    await idsOf(b, ['h1', 'h2']);
    expect(errors).toEqual([]);
  } finally {
    await context.close();
  }
});

test('without SharedWorker each tab runs its own owner: the second keeps the document in memory and says so', async () => {
  const context = await rig.browser.newContext();
  const errors: string[] = [];
  try {
    const a = await tab(context, errors, '?solo');
    const b = await tab(context, errors, '?solo');
    expect(await open(a, { docId: 'solo' })).toMatchObject({ isOwner: true, persisted: true });
    const second = await open(b, { docId: 'solo' });
    expect(second).toMatchObject({ isOwner: true, persisted: false });
    expect(second.warning).toMatch(/kept in memory only: another tab holds it/);
    await b.evaluate(() => window.owner.mutate({ type: 'create', id: 's', title: 'in b' }));
    await idsOf(b, ['s']);
    expect(errors).toEqual([]);
  } finally {
    await context.close();
  }
});

test('the owner follows the network: offline, edits wait; back online, they reach the coordinator at once', async () => {
  const docId = 'network';
  const context = await rig.browser.newContext();
  const errors: string[] = [];
  try {
    const a = await tab(context, errors);
    const b = await tab(context, errors);
    const options = { docId, coordinatorUrl: rig.syncUrl };
    await open(a, options);
    await open(b, options);
    await statusOf(b, "s.syncState === 'live'");
    await context.setOffline(true);
    await statusOf(b, "s.syncState === 'offline' && s.online");
    await b.evaluate(() => window.owner.mutate({ type: 'create', id: 'n', title: 'made offline' }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await statusOf(a, 's.pendingCount === 1');
    const before = Date.now();
    await context.setOffline(false);
    await statusOf(a, "s.syncState === 'live' && s.pendingCount === 0");
    expect(Date.now() - before).toBeLessThan(2_000);
    expect(await a.evaluate(() => window.owner.pageHash())).toEqual({
      ok: true,
      value: await rig.coordinator.pageHash(docId),
    });
    expect(errors).toEqual([]);
  } finally {
    await context.close();
  }
});

test('a TandemError thrown in the owner reaches the tab as a TandemError with its kind', async () => {
  const context = await rig.browser.newContext();
  const errors: string[] = [];
  try {
    const a = await tab(context, errors);
    const b = await tab(context, errors);
    await open(a, { docId: 'errors' });
    await open(b, { docId: 'errors' });
    for (const page of [a, b]) {
      expect(await page.evaluate(() => window.owner.fate(7))).toMatchObject({
        ok: false,
        tandem: true,
        name: 'TandemError',
        kind: 'invalid-argument',
        message: 'no mutation of document errors has lsn 7',
      });
    }
    expect(errors).toEqual([]);
  } finally {
    await context.close();
  }
});

test('where OPFS cannot be used, the document runs in memory and the status says so', async () => {
  const noOpfs = await launchChromium(['--disable-blink-features=FileSystemAccessOriginPrivate']);
  const errors: string[] = [];
  try {
    const context = await noOpfs.newContext();
    const a = await tab(context, errors);
    const opened = await open(a, { docId: 'in-memory', persist: true });
    expect(opened).toMatchObject({ persisted: false, isOwner: true });
    expect(opened.warning).toMatch(/kept in memory only/);
    await a.evaluate(() => window.owner.mutate({ type: 'create', id: 'm', title: 'in memory' }));
    await idsOf(a, ['m']);
    expect(errors).toEqual([]);
  } finally {
    await noOpfs.close();
  }
});
