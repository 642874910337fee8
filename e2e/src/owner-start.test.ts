// A tab elected owner whose owner worker cannot start (its script unreachable: offline with nothing
// cached, the server down) is a transient fault: the tab lets go of the election, another tab may try,
// and each retries until an owner starts. Calls made meanwhile wait for it; nothing is lost or doubled.
import type { BrowserContext, Page } from 'playwright-core';
import { expect, test } from 'vitest';
import { useBrowserRig } from './support/browser-rig.js';
import { type OwnerOpenOptions, openOwner, untilStatus } from './support/owner-page.js';

/** The owner worker's script as vite serves it (`new Worker(new URL('./owner-worker.js', …))`). */
const OWNER_WORKER = /\/owner-worker\.[jt]s\?worker_file/;
const rig = useBrowserRig('owner-page');

async function tab(context: BrowserContext, errors: string[], query = ''): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${rig.server.url}${query}`);
  await page.waitForFunction(() => window.owner !== undefined);
  return page;
}

const open = (page: Page, options: OwnerOpenOptions) => openOwner(page, rig.reducer, options);

const statusOf = (page: Page, check: string) => untilStatus(page, check, 10_000);

test("the owner's tab closes while the owner worker's script cannot be fetched: the other tabs wait, saying why, and once it can, one takes over and the edits made meanwhile reach the coordinator exactly once", async () => {
  const docId = 'unstartable';
  const context = await rig.browser.newContext();
  const errors: string[] = [];
  try {
    const a = await tab(context, errors);
    const b = await tab(context, errors);
    const c = await tab(context, errors);
    const options = { docId, coordinatorUrl: rig.syncUrl };
    expect((await open(a, options)).isOwner).toBe(true);
    await open(b, options);
    await open(c, options);
    await a.evaluate(() => window.owner.mutate({ type: 'create', id: 'x', title: 'first' }));
    await a.evaluate(() => window.owner.mutate({ type: 'create', id: 'y', title: 'second' }));
    expect(await a.evaluate(() => window.owner.synced())).toEqual({ ok: true });
    // A toggle pending in the owner when its tab closes: replayed by the next owner, once.
    await a.evaluate(() => window.owner.goOffline());
    await a.evaluate(() => window.owner.mutate({ type: 'toggle', id: 'x' }));
    await statusOf(c, 's.pendingCount === 1');

    let refused = 0;
    await context.route(OWNER_WORKER, (route) => {
      refused++;
      return route.abort('internetdisconnected');
    });
    await a.close();
    // Both remaining tabs are elected in turn and fail to start the worker; neither fails for good.
    await statusOf(b, "s.syncState === 'offline' && /owner worker/.test(s.lastDrop ?? '')");
    await statusOf(c, "s.syncState === 'offline' && /owner worker/.test(s.lastDrop ?? '')");
    // Edits made while no owner runs wait for the next one.
    const fromB = b.evaluate(() => window.owner.mutate({ type: 'toggle', id: 'y' }));
    const fromC = c.evaluate(() => window.owner.mutate({ type: 'rename', id: 'x', title: 'renamed in c' }));
    const read = b.evaluate(() => window.owner.query('SELECT count(*) AS n FROM todos'));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(refused).toBeGreaterThanOrEqual(2);
    expect(await b.evaluate(() => window.owner.status().syncState)).toBe('offline');

    await context.unroute(OWNER_WORKER);
    // The network's `online` event: a waiting tab retries at once.
    await b.evaluate(() => window.dispatchEvent(new Event('online')));
    expect(await fromB).toMatchObject({ ok: true, value: { status: 'applied' } });
    expect(await fromC).toMatchObject({ ok: true, value: { status: 'applied' } });
    expect(await read).toEqual({ ok: true, value: [{ n: 2 }] });
    const owners = await Promise.all(
      [b, c].map((page) => page.evaluate(() => window.owner.status().isOwner)),
    );
    expect(owners.filter(Boolean)).toHaveLength(1);
    expect(await c.evaluate(() => window.owner.synced())).toEqual({ ok: true });
    await statusOf(b, "s.syncState === 'live' && s.pendingCount === 0 && s.rejections.length === 0");
    await statusOf(c, "s.syncState === 'live' && s.lastDrop === undefined");
    expect(
      await c.evaluate(() => window.owner.query('SELECT id, title, completed FROM todos ORDER BY id')),
    ).toEqual({
      ok: true,
      value: [
        { id: 'x', title: 'renamed in c', completed: 1 },
        { id: 'y', title: 'second', completed: 1 },
      ],
    });
    expect(await b.evaluate(() => window.owner.pageHash())).toEqual({
      ok: true,
      value: await rig.coordinator.pageHash(docId),
    });
    expect(errors).toEqual([]);
  } finally {
    await context.close();
  }
});

test.each([
  ['shared between tabs', ''],
  ['each tab its own (no SharedWorker)', '?solo'],
])(
  "a document opened while the owner worker's script cannot be fetched opens offline, saying why, and heals once it can (%s)",
  async (_, query) => {
    const docId = `first-open${query.replace('?', '-')}`;
    const context = await rig.browser.newContext();
    const errors: string[] = [];
    try {
      await context.route(OWNER_WORKER, (route) => route.abort('internetdisconnected'));
      const a = await tab(context, errors, query);
      const options = { docId, coordinatorUrl: rig.syncUrl };
      const opened = await open(a, options);
      expect(opened).toMatchObject({ syncState: 'offline', isOwner: false });
      expect(opened.lastDrop).toMatch(
        /the owner could not start \(the owner worker failed: .*\); trying again/,
      );
      const made = a.evaluate(() => window.owner.mutate({ type: 'create', id: 'f', title: 'made before' }));
      await new Promise((resolve) => setTimeout(resolve, 300));
      await context.unroute(OWNER_WORKER);
      expect(await made).toMatchObject({ ok: true, value: { status: 'applied' } });
      expect(await a.evaluate(() => window.owner.synced())).toEqual({ ok: true });
      await statusOf(a, "s.isOwner && s.syncState === 'live' && s.pendingCount === 0");
      expect(await a.evaluate(() => window.owner.ids())).toEqual(['f']);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  },
);
