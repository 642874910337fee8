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

/**
 * Resolves once `check` (an expression over the owner's status `s`) holds in `page`. On a timeout it
 * throws with every status the tab heard (`trail`): a state the document passed through faster than
 * the page was polled reads differently from one it never reached.
 */
export async function untilStatus(page: Page, check: string, timeoutMs = 20_000): Promise<void> {
  try {
    await page.waitForFunction(`(() => { const s = window.owner.status(); return ${check}; })()`, undefined, {
      timeout: timeoutMs,
    });
  } catch (error) {
    const heard = await page
      .evaluate(() => [`${performance.now().toFixed(0)} ms now`, ...window.owner.trail()])
      .catch((cause: unknown) => [`the trail could not be read: ${String(cause)}`]);
    throw new Error(
      `the status never passed ${check} in ${timeoutMs} ms; the tab heard:\n${heard.join('\n')}`,
      {
        cause: error,
      },
    );
  }
}

/** Runs `run` in `page` and returns its value, throwing the message of an outcome that is not ok. */
export async function callOwner<T>(
  page: Page,
  run: () => Promise<{ ok: boolean; value?: T; message?: string }>,
): Promise<T> {
  const outcome = await page.evaluate(run);
  if (!outcome.ok) throw new Error(outcome.message);
  return outcome.value as T;
}

/** Applies `mutation` through the owner in `page`; returns its lsn. */
export async function mutateOwner(page: Page, mutation: object): Promise<number> {
  const outcome = await page.evaluate((m) => window.owner.mutate(m), mutation);
  if (!outcome.ok) throw new Error(outcome.message);
  return (outcome.value as { readonly lsn: number }).lsn;
}
