// Opening a document in a tab of the owner fixture page (e2e/fixtures/owner-page, `window.owner`).
import type { Page } from 'playwright-core';
import type { OwnerPageOpen, OwnerPageStatus } from '../owner-page-api.js';

export type OwnerOpenOptions = Partial<OwnerPageOpen> & { readonly docId: string };

/** Opens the document with the prepared reducer `reducer` (base64); throws what the page reported. */
export async function openOwner(
  page: Page,
  reducer: string,
  options: OwnerOpenOptions,
): Promise<OwnerPageStatus> {
  const opened = await page.evaluate((o) => window.owner.open(o), { reducer, ...options });
  if (!opened.ok) throw new Error(`open failed: ${opened.name} ${opened.kind ?? ''} ${opened.message}`);
  return opened.value;
}
