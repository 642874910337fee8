// A tab that loses the owner election leaves no worker running and never touches OPFS: every tab starts
// its owner worker before the election is decided (as soon as it imports host-browser, so its code and
// SQLite load while the app sets up), and only the elected tab's worker is told to open the document;
// the others end theirs as soon as they learn another tab holds the owner lock.
import type { BrowserContext, Page, Worker } from 'playwright-core';
import { expect, test } from 'vitest';
import { useBrowserRig } from './support/browser-rig.js';
import { type OwnerOpenOptions, openOwner } from './support/owner-page.js';

const OPFS_TOUCHED = 'owner-election test: OPFS touched';
const rig = useBrowserRig('owner-page');

/** A tab whose workers are watched: each one's end, and any use of OPFS once the watch is in place. */
interface Watched {
  readonly page: Page;
  readonly ended: Promise<void>[];
  readonly opfs: string[];
  readonly errors: string[];
}

async function tab(context: BrowserContext): Promise<Watched> {
  const page = await context.newPage();
  const watched: Watched = { page, ended: [], opfs: [], errors: [] };
  page.on('pageerror', (error) => watched.errors.push(error.message));
  page.on('worker', (worker: Worker) => {
    watched.ended.push(new Promise((resolve) => worker.once('close', () => resolve())));
    worker.on('console', (message) => {
      if (message.text().startsWith(OPFS_TOUCHED)) watched.opfs.push(message.text());
    });
    // Reports every way into OPFS from here on. A worker ended before this lands did nothing more.
    worker
      .evaluate((label) => {
        const storage = navigator.storage as StorageManager & { getDirectory: () => unknown };
        const getDirectory = storage.getDirectory.bind(storage);
        storage.getDirectory = () => {
          console.log(`${label}: getDirectory`);
          return getDirectory();
        };
      }, OPFS_TOUCHED)
      .catch(() => undefined);
  });
  // Playwright reports a worker once it has attached to it, and a worker waits for that attach before it
  // runs a line; a spare ended at once on a loaded machine may end before it, unreported and having run
  // nothing. So the page itself counts the workers it starts.
  await page.addInitScript(() => {
    const counted = globalThis as unknown as { Worker: typeof Worker; workersStarted: number };
    counted.workersStarted = 0;
    counted.Worker = new Proxy(counted.Worker, {
      construct(target, args: ConstructorParameters<typeof Worker>) {
        counted.workersStarted++;
        return Reflect.construct(target, args);
      },
    });
  });
  await page.goto(rig.server.url);
  await page.waitForFunction(() => window.owner !== undefined);
  return watched;
}

const open = (page: Page, options: OwnerOpenOptions) => openOwner(page, rig.reducer, options);

/** Resolves once every worker the tab started has ended; rejects after `ms`. */
async function allEnded(watched: Watched, ms = 10_000): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      Promise.all(watched.ended),
      new Promise((_resolve, reject) => {
        timer = setTimeout(
          () => reject(new Error(`a worker still runs: ${watched.page.workers().length}`)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

test('of two tabs opening a document at the same moment, the one that loses the election ends every worker it started and never touches OPFS, and still reaches the document', async () => {
  const context = await rig.browser.newContext();
  try {
    const a = await tab(context);
    const b = await tab(context);
    const [sa, sb] = await Promise.all([open(a.page, { docId: 'race' }), open(b.page, { docId: 'race' })]);
    expect([sa.isOwner, sb.isOwner].sort()).toEqual([false, true]);
    expect(sa.persisted && sb.persisted).toBe(true);
    const [owner, loser] = sa.isOwner ? [a, b] : [b, a];
    const started = () => (globalThis as unknown as { workersStarted: number }).workersStarted;
    expect(await loser.page.evaluate(started)).toBeGreaterThan(0);
    await allEnded(loser);
    expect(loser.page.workers()).toEqual([]);
    expect(loser.opfs).toEqual([]);
    expect(owner.page.workers().length).toBe(1);

    await loser.page.evaluate(() =>
      window.owner.mutate({ type: 'create', id: 'l', title: 'from the loser' }),
    );
    const rows = await owner.page.evaluate(() => window.owner.query('SELECT id FROM todos'));
    expect(rows).toEqual({ ok: true, value: [{ id: 'l' }] });
    expect([...a.errors, ...b.errors]).toEqual([]);
  } finally {
    await context.close();
  }
});

test('a tab opening a document another tab already hosts ends the worker it started at once and never touches OPFS; it starts one again when it takes over', async () => {
  const context = await rig.browser.newContext();
  try {
    const a = await tab(context);
    expect((await open(a.page, { docId: 'hosted' })).isOwner).toBe(true);
    await a.page.evaluate(() => window.owner.mutate({ type: 'create', id: 'a', title: 'first' }));
    const b = await tab(context);
    const status = await open(b.page, { docId: 'hosted' });
    expect(status.isOwner).toBe(false);
    await allEnded(b);
    expect(b.page.workers()).toEqual([]);
    expect(b.opfs).toEqual([]);

    // The loser stood on: once the owner's tab closes it is elected, and opens the persisted files.
    await a.page.close();
    await b.page.waitForFunction(() => window.owner.status().isOwner, undefined, { timeout: 15_000 });
    expect(b.page.workers().length).toBe(1);
    const rows = await b.page.evaluate(() => window.owner.query('SELECT id FROM todos'));
    expect(rows).toEqual({ ok: true, value: [{ id: 'a' }] });
    expect(await b.page.evaluate(() => window.owner.status().persisted)).toBe(true);
    expect(b.errors).toEqual([]);
  } finally {
    await context.close();
  }
});

test('a tab starts its owner worker as it imports host-browser, and its first open is served by that worker: one worker, never two', async () => {
  const context = await rig.browser.newContext();
  try {
    const a = await tab(context);
    const started = () => (globalThis as unknown as { workersStarted: number }).workersStarted;
    expect(await a.page.evaluate(started)).toBe(1);
    const status = await open(a.page, { docId: 'prestarted' });
    expect(status.isOwner && status.persisted).toBe(true);
    expect(await a.page.evaluate(started)).toBe(1);
    expect(a.page.workers().length).toBe(1);
    expect(a.errors).toEqual([]);
  } finally {
    await context.close();
  }
});
