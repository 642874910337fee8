// Two browsers (two contexts: no shared storage, each its own owner and WebSocket) on one document.
import type { Page } from '@playwright/test';
import { seededRandom } from './support/seeded-random.js';
import {
  addTodos,
  expect,
  expectSynced,
  openTodos,
  recordStatusTexts,
  shownList,
  statusTexts,
  syncStatus,
  test,
} from './support/todo-app.js';

test.describe('two browsers on one document', () => {
  test('a todo added in one appears in the other within a second', async ({ browser, doc }) => {
    const [one, two] = await Promise.all([browser.newPage(), browser.newPage()]);
    await Promise.all([openTodos(one, doc), openTodos(two, doc)]);
    await Promise.all([expectSynced(one), expectSynced(two)]);

    const started = Date.now();
    await addTodos(one, 'seen across browsers');
    await expect(two.getByTestId('todo-title')).toHaveText(['seen across browsers'], { timeout: 1_000 });
    test.info().annotations.push({ type: 'propagation', description: `${Date.now() - started} ms` });
    await Promise.all([one.context().close(), two.context().close()]);
  });

  test('twenty edits on each side, one of them offline, end in the same list', async ({ browser, doc }) => {
    test.setTimeout(90_000);
    const random = seededRandom();
    const [offline, online] = await Promise.all([browser.newPage(), browser.newPage()]);
    await Promise.all([openTodos(offline, doc), openTodos(online, doc)]);
    await addTodos(offline, 'shared 1', 'shared 2', 'shared 3', 'shared 4');
    await expect(online.getByTestId('todo-item')).toHaveCount(4);
    await Promise.all([expectSynced(offline), expectSynced(online)]);

    await recordStatusTexts(offline);
    await offline.context().setOffline(true);
    await expect(syncStatus(offline)).toHaveText(/^offline/);
    for (let i = 0; i < 20; i++) {
      await randomEdit(offline, `off ${i}`, random.next);
      await randomEdit(online, `on ${i}`, random.next);
    }
    await expect(syncStatus(offline)).toHaveText(/^offline · \d+ pending$/);

    await offline.context().setOffline(false);
    await Promise.all([expectSynced(offline), expectSynced(online)]);
    // The online side was synced all along: it may still be taking the other side's edits.
    await expect(async () => {
      expect(await shownList(offline), `seed ${random.seed}`).toEqual(await shownList(online));
    }).toPass({ timeout: 15_000 });

    const seen = await statusTexts(offline);
    await test.info().attach('status texts seen offline → online', { body: seen.join('\n') });
    const labels = seen.map((text) => text.split(/[ ·(]/)[0]);
    console.log(`offline side's status: ${labels.filter((label, i) => label !== labels[i - 1]).join(' → ')}`);
    const wentOffline = labels.indexOf('offline');
    const thenSyncing = labels.indexOf('syncing', wentOffline);
    const thenSynced = labels.indexOf('synced', thenSyncing);
    expect(wentOffline >= 0 && thenSyncing > wentOffline && thenSynced > thenSyncing, seen.join(' | ')).toBe(
      true,
    );
    await Promise.all([offline.context().close(), online.context().close()]);
  });
});

/** One edit a user could make on what `page` shows: add, toggle, rename or delete. */
async function randomEdit(page: Page, name: string, next: () => number): Promise<void> {
  const items = page.getByTestId('todo-item');
  const count = await items.count();
  const kind = count === 0 ? 0 : Math.floor(next() * 4);
  const item = items.nth(Math.floor(next() * count));
  switch (kind) {
    case 0:
      await addTodos(page, name);
      await expect(page.getByTestId('todo-title').last()).toHaveText(name);
      return;
    case 1: {
      const wasCompleted = (await item.getAttribute('class')) === 'completed';
      await item.getByRole('checkbox', { name: 'Toggle Todo' }).click();
      await expect(item).toHaveClass(wasCompleted ? '' : 'completed');
      return;
    }
    case 2: {
      const title = `${await item.getByTestId('todo-title').textContent()} / ${name}`;
      await item.dblclick();
      await item.getByRole('textbox', { name: 'Edit' }).fill(title);
      await item.getByRole('textbox', { name: 'Edit' }).press('Enter');
      await expect(page.getByTestId('todo-title').filter({ hasText: title })).toHaveCount(1);
      return;
    }
    default: {
      const before = count;
      await item.hover();
      await item.getByRole('button', { name: 'Delete' }).click();
      await expect(items).toHaveCount(before - 1);
    }
  }
}
