// What the specs share: a fresh document name per test (`doc`), and the demo's parts as a user finds
// them (placeholder, test ids, accessible names).
import { randomUUID } from 'node:crypto';
import { test as base, expect, type Locator, type Page } from '@playwright/test';

export const test = base.extend<{ doc: string }>({
  // biome-ignore lint/correctness/noEmptyPattern: Playwright reads a fixture's dependencies from this pattern
  doc: async ({}, use, testInfo) => {
    const slug = testInfo.title
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .slice(0, 40);
    await use(`${slug}-${randomUUID().slice(0, 8)}`);
  },
});

export { expect };

/** Opens document `doc` in `page` (at `origin`, the suite's server by default) and waits for the app. */
export async function openTodos(page: Page, doc: string, origin = ''): Promise<void> {
  await page.goto(`${origin}/?doc=${encodeURIComponent(doc)}`);
  await expect(page.getByTestId('sync-status')).toBeVisible({ timeout: 15_000 });
}

export async function addTodos(page: Page, ...titles: string[]): Promise<void> {
  const input = page.getByPlaceholder('What needs to be done?');
  for (const title of titles) {
    await input.fill(title);
    await input.press('Enter');
  }
}

export function syncStatus(page: Page): Locator {
  return page.getByTestId('sync-status');
}

/** Waits until the page's document is live with nothing pending. */
export async function expectSynced(page: Page, timeout = 15_000): Promise<void> {
  await expect(syncStatus(page)).toHaveText('synced', { timeout });
}

/** The list as shown: each todo's title, with " ✓" when completed. */
export async function shownList(page: Page): Promise<string[]> {
  return page.getByTestId('todo-item').evaluateAll((items) =>
    items.map((item) => {
      const title = item.querySelector('[data-testid="todo-title"]')?.textContent ?? '';
      return item.classList.contains('completed') ? `${title} ✓` : title;
    }),
  );
}

/**
 * Starts recording the sync status line's texts in the page (each change once); `statusTexts` reads
 * them back.
 */
export async function recordStatusTexts(page: Page): Promise<void> {
  await page.evaluate(() => {
    const element = document.querySelector('[data-testid="sync-status"]');
    if (element === null) throw new Error('no sync status in the page');
    const seen = [element.textContent ?? ''];
    new MutationObserver(() => {
      const text = element.textContent ?? '';
      if (seen.at(-1) !== text) seen.push(text);
    }).observe(element, { childList: true, characterData: true, subtree: true });
    Object.assign(window, { tandemStatusTexts: seen });
  });
}

export async function statusTexts(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { tandemStatusTexts: string[] }).tandemStatusTexts);
}
