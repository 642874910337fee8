// Where OPFS cannot be used (private windows of some browsers, older ones) the demo still runs, in
// memory, and says so instead of failing. This file's browser has no OPFS at all.
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './support/settings.js';
import { addTodos, expect, expectSynced, openTodos, test } from './support/todo-app.js';

test.use({
  launchOptions: {
    executablePath: CHROMIUM_PATH,
    args: [...CHROMIUM_ARGS, '--disable-blink-features=FileSystemAccessOriginPrivate'],
  },
});

test('without OPFS the app runs in memory and shows a warning', async ({ page, doc }) => {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await openTodos(page, doc);
  expect(await page.evaluate(() => typeof navigator.storage.getDirectory)).toBe('undefined');

  await expect(page.getByTestId('warning')).toContainText('in memory');
  await addTodos(page, 'kept in memory');
  await expect(page.getByTestId('todo-title')).toHaveText(['kept in memory']);
  await expectSynced(page);
  expect(errors).toEqual([]);
});
