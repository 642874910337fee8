// The document lives in the browser (OPFS): a reload and a browser restart keep every todo, those not
// yet synced included, and those sync afterwards.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppServer } from './support/app-server.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './support/settings.js';
import { SyncGate } from './support/sync-gate.js';
import {
  addTodos,
  expect,
  expectSynced,
  openTodos,
  shownList,
  syncStatus,
  test,
} from './support/todo-app.js';

test.describe('persistence', () => {
  test.describe.configure({ timeout: 90_000 });
  test('a reload keeps every todo, edits not yet synced included, which sync afterwards', async ({
    page,
    browser,
    doc,
  }) => {
    // Its own coordinator behind a gate: sync is shut out while the page still loads.
    const server = await AppServer.start();
    const gate = await SyncGate.start(server.port);
    try {
      await openTodos(page, doc, gate.url);
      await addTodos(page, 'synced before', 'toggled while unsynced', 'renamed while unsynced');
      // Shown first: before its mutations reach the status, the page still says "synced" from before.
      await expect(page.getByTestId('todo-item')).toHaveCount(3);
      await expectSynced(page);

      gate.block();
      await addTodos(page, 'added while unsynced');
      await page.getByTestId('todo-item').nth(1).getByRole('checkbox', { name: 'Toggle Todo' }).check();
      await page.getByTestId('todo-item').nth(2).dblclick();
      await page.getByRole('textbox', { name: 'Edit' }).fill('renamed, unsynced');
      await page.getByRole('textbox', { name: 'Edit' }).press('Enter');
      await expect(syncStatus(page)).toContainText('3 pending');
      const before = await shownList(page);
      expect(before).toEqual([
        'synced before',
        'toggled while unsynced ✓',
        'renamed, unsynced',
        'added while unsynced',
      ]);

      await page.reload();
      await expect(page.getByTestId('todo-item')).toHaveCount(4);
      expect(await shownList(page)).toEqual(before);
      await expect(syncStatus(page)).toContainText('3 pending');

      gate.open();
      await expectSynced(page, 20_000);
      const elsewhere = await browser.newPage();
      await openTodos(elsewhere, doc, gate.url);
      await expect.poll(() => shownList(elsewhere)).toEqual(before);
      await elsewhere.context().close();
    } finally {
      await gate.close();
      await server.dispose();
    }
  });

  test('a browser restart keeps every todo, offline edits included, which sync after it', async ({
    playwright,
    browser,
    baseURL,
    doc,
  }) => {
    const profile = await mkdtemp(join(tmpdir(), 'tandem-e2e-profile-'));
    const launch = () =>
      playwright.chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM_PATH,
        args: CHROMIUM_ARGS,
        ...(baseURL !== undefined && { baseURL }),
      });
    try {
      let context = await launch();
      let page = context.pages()[0] ?? (await context.newPage());
      await openTodos(page, doc);
      await addTodos(page, 'synced before', 'toggled offline');
      // Shown first: before its mutations reach the status, the page still says "synced" from before.
      await expect(page.getByTestId('todo-item')).toHaveCount(2);
      await expectSynced(page);

      await context.setOffline(true);
      await expect(syncStatus(page)).toHaveText(/^offline/);
      await addTodos(page, 'added offline');
      await page.getByTestId('todo-item').nth(1).getByRole('checkbox', { name: 'Toggle Todo' }).check();
      await expect(syncStatus(page)).toHaveText(/^offline · 2 pending$/);
      const before = await shownList(page);
      expect(before).toEqual(['synced before', 'toggled offline ✓', 'added offline']);
      await context.close();

      context = await launch();
      page = context.pages()[0] ?? (await context.newPage());
      await openTodos(page, doc);
      await expect(page.getByTestId('todo-item')).toHaveCount(3);
      expect(await shownList(page)).toEqual(before);
      await expectSynced(page);

      const elsewhere = await browser.newPage();
      await openTodos(elsewhere, doc);
      await expect.poll(() => shownList(elsewhere)).toEqual(before);
      await elsewhere.context().close();
      await context.close();
    } finally {
      await rm(profile, { recursive: true, force: true });
    }
  });
});
