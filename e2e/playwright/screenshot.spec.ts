// The demo as a user sees it, saved by every run: test-results/screenshots/todo-demo.png (beside this
// suite's folder, gitignored), and attached to the report.
import { fileURLToPath } from 'node:url';
import { addTodos, expect, expectSynced, openTodos, test } from './support/todo-app.js';

const SCREENSHOT = fileURLToPath(new URL('../test-results/screenshots/todo-demo.png', import.meta.url));

test('a screenshot of the demo with several todos and the sync status', async ({ page, doc }) => {
  await page.setViewportSize({ width: 900, height: 760 });
  await openTodos(page, doc);
  await addTodos(page, 'Try Tandem in two tabs', 'Go offline, keep editing', 'Come back online', 'Ship it');
  await page.getByTestId('todo-item').nth(0).getByRole('checkbox', { name: 'Toggle Todo' }).check();
  await addTodos(page, 'x'.repeat(201));
  await expect(page.getByTestId('todo-count')).toHaveText('3 items left');
  await expectSynced(page);
  await expect(page.getByTestId('rejections').getByRole('listitem')).toHaveCount(1);
  await page.getByPlaceholder('What needs to be done?').blur();
  await page.mouse.move(0, 0);
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  await test.info().attach('todo demo', { path: SCREENSHOT, contentType: 'image/png' });
});
