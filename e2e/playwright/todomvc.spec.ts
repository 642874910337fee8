// The TodoMVC app spec, played on the demo: each test on a fresh document, opened by a navigation.
//
// One browser context and page per Playwright worker, not one per test: these claims are about the app
// on a new document, not about a browser's first visit, and a fresh context booted the app cold (empty
// HTTP cache, OPFS and compiled code) for each of the 29 tests: median 7.7 -> 5.1 s per test. A fresh
// browser's first visit is what the other specs play (sync, persistence, tabs, rejections, screenshot).
import type { Page } from '@playwright/test';
import { addTodos, test as base, expect, openTodos } from './support/todo-app.js';

const test = base.extend<object, { workerPage: Page }>({
  workerPage: [
    async ({ browser }, use) => {
      const context = await browser.newContext();
      await use(await context.newPage());
      await context.close();
    },
    { scope: 'worker' },
  ],
  page: async ({ workerPage }, use) => {
    await use(workerPage);
  },
});

const TODO_ITEMS = ['buy some cheese', 'feed the cat', 'book a doctors appointment'] as const;

test.beforeEach(async ({ page, doc }) => {
  await openTodos(page, doc);
});

async function createDefaultTodos(page: Page): Promise<void> {
  await addTodos(page, ...TODO_ITEMS);
  await expect(page.getByTestId('todo-title')).toHaveText([...TODO_ITEMS]);
}

test.describe('New Todo', () => {
  test('should allow me to add todo items', async ({ page }) => {
    const newTodo = page.getByPlaceholder('What needs to be done?');
    await newTodo.fill(TODO_ITEMS[0]);
    await newTodo.press('Enter');
    await expect(page.getByTestId('todo-title')).toHaveText([TODO_ITEMS[0]]);

    await newTodo.fill(TODO_ITEMS[1]);
    await newTodo.press('Enter');
    await expect(page.getByTestId('todo-title')).toHaveText([TODO_ITEMS[0], TODO_ITEMS[1]]);
  });

  test('should clear text input field when an item is added', async ({ page }) => {
    const newTodo = page.getByPlaceholder('What needs to be done?');
    await newTodo.fill(TODO_ITEMS[0]);
    await newTodo.press('Enter');
    await expect(newTodo).toBeEmpty();
    await expect(page.getByTestId('todo-title')).toHaveText([TODO_ITEMS[0]]);
  });

  test('should append new items to the bottom of the list', async ({ page }) => {
    await createDefaultTodos(page);
    await expect(page.getByTestId('todo-count')).toHaveText('3 items left');
    await expect(page.getByText('3 items left')).toBeVisible();
  });

  test('should trim text input and add nothing for an empty or blank title', async ({ page }) => {
    const newTodo = page.getByPlaceholder('What needs to be done?');
    await newTodo.fill(`   ${TODO_ITEMS[0]}   `);
    await newTodo.press('Enter');
    await expect(page.getByTestId('todo-title')).toHaveText([TODO_ITEMS[0]]);

    await newTodo.press('Enter');
    await newTodo.fill('    ');
    await newTodo.press('Enter');
    await addTodos(page, TODO_ITEMS[1]);
    await expect(page.getByTestId('todo-title')).toHaveText([TODO_ITEMS[0], TODO_ITEMS[1]]);
  });

  test('should hide the main section and footer when there are no todos', async ({ page }) => {
    await expect(page.locator('.main')).toHaveCount(0);
    await expect(page.locator('.footer')).toHaveCount(0);
    await addTodos(page, TODO_ITEMS[0]);
    await expect(page.locator('.main')).toBeVisible();
    await expect(page.locator('.footer')).toBeVisible();

    await page.getByTestId('todo-item').hover();
    await page.getByRole('button', { name: 'Delete' }).click();
    await expect(page.locator('.main')).toHaveCount(0);
    await expect(page.locator('.footer')).toHaveCount(0);
  });

  test('should keep no todo in localStorage: the document is the only store', async ({ page }) => {
    await createDefaultTodos(page);
    const stored = await page.evaluate(
      () => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }),
    );
    for (const title of TODO_ITEMS) expect(stored).not.toContain(title);
  });
});

test.describe('Mark all as completed', () => {
  test.beforeEach(async ({ page }) => {
    await createDefaultTodos(page);
  });

  test('should allow me to mark all items as completed', async ({ page }) => {
    await page.getByLabel('Mark all as complete').check();
    await expect(page.getByTestId('todo-item')).toHaveClass(['completed', 'completed', 'completed']);
    await expect(page.getByTestId('todo-count')).toHaveText('0 items left');
  });

  test('should allow me to clear the complete state of all items', async ({ page }) => {
    const toggleAll = page.getByLabel('Mark all as complete');
    await toggleAll.check();
    await expect(toggleAll).toBeChecked();
    await toggleAll.uncheck();
    await expect(page.getByTestId('todo-item')).toHaveClass(['', '', '']);
    await expect(page.getByTestId('todo-count')).toHaveText('3 items left');
  });

  test('complete all checkbox should update state when items are completed / cleared', async ({ page }) => {
    const toggleAll = page.getByLabel('Mark all as complete');
    await toggleAll.check();
    await expect(toggleAll).toBeChecked();

    const firstTodo = page.getByTestId('todo-item').nth(0);
    await firstTodo.getByRole('checkbox', { name: 'Toggle Todo' }).uncheck();
    await expect(toggleAll).not.toBeChecked();

    await firstTodo.getByRole('checkbox', { name: 'Toggle Todo' }).check();
    await expect(toggleAll).toBeChecked();
  });
});

test.describe('Item', () => {
  test('should allow me to mark items as complete', async ({ page }) => {
    await addTodos(page, TODO_ITEMS[0], TODO_ITEMS[1]);
    const items = page.getByTestId('todo-item');
    await items.nth(0).getByRole('checkbox', { name: 'Toggle Todo' }).check();
    await expect(items).toHaveClass(['completed', '']);

    await items.nth(1).getByRole('checkbox', { name: 'Toggle Todo' }).check();
    await expect(items).toHaveClass(['completed', 'completed']);
  });

  test('should allow me to un-mark items as complete', async ({ page }) => {
    await addTodos(page, TODO_ITEMS[0], TODO_ITEMS[1]);
    const items = page.getByTestId('todo-item');
    const firstToggle = items.nth(0).getByRole('checkbox', { name: 'Toggle Todo' });
    await firstToggle.check();
    await expect(items).toHaveClass(['completed', '']);
    await firstToggle.uncheck();
    await expect(items).toHaveClass(['', '']);
  });

  test('should allow me to delete an item', async ({ page }) => {
    await createDefaultTodos(page);
    const second = page.getByTestId('todo-item').nth(1);
    await second.hover();
    await second.getByRole('button', { name: 'Delete' }).click();
    await expect(page.getByTestId('todo-title')).toHaveText([TODO_ITEMS[0], TODO_ITEMS[2]]);
  });
});

test.describe('Editing', () => {
  test.beforeEach(async ({ page }) => {
    await createDefaultTodos(page);
  });

  test('should hide other controls when editing', async ({ page }) => {
    const todoItem = page.getByTestId('todo-item').nth(1);
    await todoItem.dblclick();
    await expect(todoItem).toHaveClass('editing');
    await expect(todoItem.getByRole('textbox', { name: 'Edit' })).toBeFocused();
    await expect(todoItem.getByRole('checkbox', { name: 'Toggle Todo' })).not.toBeVisible();
    await expect(todoItem.locator('label', { hasText: TODO_ITEMS[1] })).not.toBeVisible();
  });

  test('should save edits on Enter', async ({ page }) => {
    const todoItem = page.getByTestId('todo-item').nth(1);
    await todoItem.dblclick();
    await todoItem.getByRole('textbox', { name: 'Edit' }).fill('buy some sausages');
    await todoItem.getByRole('textbox', { name: 'Edit' }).press('Enter');
    await expect(page.getByTestId('todo-title')).toHaveText([
      TODO_ITEMS[0],
      'buy some sausages',
      TODO_ITEMS[2],
    ]);
    await expect(todoItem).toHaveClass('');
  });

  test('should save edits on blur', async ({ page }) => {
    const todoItem = page.getByTestId('todo-item').nth(1);
    await todoItem.dblclick();
    await todoItem.getByRole('textbox', { name: 'Edit' }).fill('buy some sausages');
    await todoItem.getByRole('textbox', { name: 'Edit' }).blur();
    await expect(page.getByTestId('todo-title')).toHaveText([
      TODO_ITEMS[0],
      'buy some sausages',
      TODO_ITEMS[2],
    ]);
  });

  test('should trim entered text', async ({ page }) => {
    const todoItem = page.getByTestId('todo-item').nth(1);
    await todoItem.dblclick();
    await todoItem.getByRole('textbox', { name: 'Edit' }).fill('    buy some sausages    ');
    await todoItem.getByRole('textbox', { name: 'Edit' }).press('Enter');
    await expect(page.getByTestId('todo-title')).toHaveText([
      TODO_ITEMS[0],
      'buy some sausages',
      TODO_ITEMS[2],
    ]);
  });

  test('should remove the item if an empty text string was entered', async ({ page }) => {
    const todoItem = page.getByTestId('todo-item').nth(1);
    await todoItem.dblclick();
    await todoItem.getByRole('textbox', { name: 'Edit' }).fill('');
    await todoItem.getByRole('textbox', { name: 'Edit' }).press('Enter');
    await expect(page.getByTestId('todo-title')).toHaveText([TODO_ITEMS[0], TODO_ITEMS[2]]);
  });

  test('should cancel edits on escape', async ({ page }) => {
    const todoItem = page.getByTestId('todo-item').nth(1);
    await todoItem.dblclick();
    await todoItem.getByRole('textbox', { name: 'Edit' }).fill('buy some sausages');
    await todoItem.getByRole('textbox', { name: 'Edit' }).press('Escape');
    await expect(todoItem).toHaveClass('');
    await expect(page.getByTestId('todo-title')).toHaveText([...TODO_ITEMS]);
  });

  test('should keep a completed item completed through an edit', async ({ page }) => {
    const todoItem = page.getByTestId('todo-item').nth(0);
    await todoItem.getByRole('checkbox', { name: 'Toggle Todo' }).check();
    await expect(todoItem).toHaveClass('completed');
    await todoItem.dblclick();
    await expect(todoItem).toHaveClass('editing');
    await todoItem.getByRole('textbox', { name: 'Edit' }).fill('buy some brie');
    await todoItem.getByRole('textbox', { name: 'Edit' }).press('Enter');
    await expect(todoItem).toHaveClass('completed');
    await expect(todoItem.getByTestId('todo-title')).toHaveText('buy some brie');
  });
});

test.describe('Counter', () => {
  test('should display the current number of todo items', async ({ page }) => {
    const todoCount = page.getByTestId('todo-count');
    await addTodos(page, TODO_ITEMS[0]);
    await expect(todoCount).toHaveText('1 item left');
    await expect(todoCount.locator('strong')).toHaveText('1');

    await addTodos(page, TODO_ITEMS[1]);
    await expect(todoCount).toHaveText('2 items left');

    await page.getByTestId('todo-item').nth(0).getByRole('checkbox', { name: 'Toggle Todo' }).check();
    await expect(todoCount).toHaveText('1 item left');
  });
});

test.describe('Clear completed button', () => {
  test.beforeEach(async ({ page }) => {
    await createDefaultTodos(page);
  });

  test('should display the correct text', async ({ page }) => {
    await page.locator('.todo-list li .toggle').first().check();
    await expect(page.getByRole('button', { name: 'Clear completed' })).toBeVisible();
  });

  test('should remove completed items when clicked', async ({ page }) => {
    const todoItems = page.getByTestId('todo-item');
    await todoItems.nth(1).getByRole('checkbox', { name: 'Toggle Todo' }).check();
    await page.getByRole('button', { name: 'Clear completed' }).click();
    await expect(todoItems).toHaveCount(2);
    await expect(page.getByTestId('todo-title')).toHaveText([TODO_ITEMS[0], TODO_ITEMS[2]]);
  });

  test('should be hidden when there are no items that are completed', async ({ page }) => {
    await page.locator('.todo-list li .toggle').first().check();
    await page.getByRole('button', { name: 'Clear completed' }).click();
    await expect(page.getByRole('button', { name: 'Clear completed' })).toBeHidden();
  });
});

test.describe('Routing', () => {
  test.beforeEach(async ({ page }) => {
    await createDefaultTodos(page);
    await page.getByTestId('todo-item').nth(1).getByRole('checkbox', { name: 'Toggle Todo' }).check();
    await expect(page.getByTestId('todo-item').nth(1)).toHaveClass('completed');
  });

  test('should allow me to display active items', async ({ page }) => {
    await page.getByRole('link', { name: 'Active' }).click();
    await expect(page).toHaveURL(/#\/active$/);
    await expect(page.getByTestId('todo-title')).toHaveText([TODO_ITEMS[0], TODO_ITEMS[2]]);
  });

  test('should allow me to display completed items', async ({ page }) => {
    await page.getByRole('link', { name: 'Completed' }).click();
    await expect(page.getByTestId('todo-title')).toHaveText([TODO_ITEMS[1]]);
  });

  test('should allow me to display all items', async ({ page }) => {
    await page.getByRole('link', { name: 'Active' }).click();
    await page.getByRole('link', { name: 'Completed' }).click();
    await page.getByRole('link', { name: 'All' }).click();
    await expect(page.getByTestId('todo-item')).toHaveCount(3);
  });

  test('should respect the back button', async ({ page }) => {
    const todoItem = page.getByTestId('todo-item');
    await page.getByRole('link', { name: 'All' }).click();
    await expect(todoItem).toHaveCount(3);
    await page.getByRole('link', { name: 'Active' }).click();
    await expect(todoItem).toHaveCount(2);
    await page.getByRole('link', { name: 'Completed' }).click();
    await expect(todoItem).toHaveCount(1);

    await page.goBack();
    await expect(todoItem).toHaveCount(2);
    await expect(page.getByRole('link', { name: 'Active' })).toHaveClass('selected');
    await page.goBack();
    await expect(todoItem).toHaveCount(3);
    await expect(page.getByRole('link', { name: 'All' })).toHaveClass('selected');
  });

  test('should highlight the currently applied filter, and only it', async ({ page }) => {
    const all = page.getByRole('link', { name: 'All' });
    const active = page.getByRole('link', { name: 'Active' });
    const completed = page.getByRole('link', { name: 'Completed' });
    await expect(all).toHaveClass('selected');
    await active.click();
    await expect(active).toHaveClass('selected');
    await expect(all).toHaveClass('');
    await completed.click();
    await expect(completed).toHaveClass('selected');
    await expect(active).toHaveClass('');
  });

  test('should keep an item moved out of the filter out of the list', async ({ page }) => {
    await page.getByRole('link', { name: 'Active' }).click();
    // click, not check: the completed item leaves the list at once, so there is no box to read back.
    await page.getByTestId('todo-item').nth(0).getByRole('checkbox', { name: 'Toggle Todo' }).click();
    await expect(page.getByTestId('todo-title')).toHaveText([TODO_ITEMS[2]]);
  });
});
