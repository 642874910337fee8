// The Chromium boot page: opens a document through host-browser's tab API exactly as the demo app
// does (imported at the page's start, the reducer `/reducers/current` names, persisted in OPFS) and
// times it to its first answer. `/?open=<docId>[&sync]` runs one timed boot as the page loads.
import { openDocument } from '@tandem/host-browser';
import type { BootPage, BootTiming } from '../src/boot-page-api.js';
import { COUNT_TODOS, todo } from './queries.js';

const FILL_BATCH = 1000;
const coordinatorUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/sync`;

/** The prepared reducer's URL, as the app asks for it. */
async function currentReducer(): Promise<URL> {
  const response = await fetch('/reducers/current', { cache: 'no-store' });
  const body = (await response.json()) as { url: string };
  return new URL(body.url, location.href);
}

async function openTimed(docId: string, sync: boolean): Promise<BootTiming> {
  const reducer = await currentReducer();
  const start = performance.now();
  const doc = await openDocument({ docId, reducer, ...(sync && { coordinatorUrl }) });
  const opened = performance.now();
  const rows = await doc.query(COUNT_TODOS);
  const answered = performance.now();
  const { persisted, warning } = doc.status;
  await doc.close();
  return {
    sinceNavigationMs: answered,
    firstQueryMs: answered - start,
    openMs: opened - start,
    rows: Number(rows[0]?.n),
    persisted,
    ...(warning !== undefined && { warning }),
  };
}

window.bootPage = {
  async fill(docId, count, sync) {
    const reducer = await currentReducer();
    const doc = await openDocument({ docId, reducer, ...(sync && { coordinatorUrl }) });
    for (let from = 0; from < count; from += FILL_BATCH) {
      const n = Math.min(FILL_BATCH, count - from);
      await doc.mutateBatch(Array.from({ length: n }, (_, k) => todo(from + k)));
    }
    if (sync) await doc.synced();
    await doc.close();
  },
} satisfies BootPage;

const asked = new URLSearchParams(location.search);
const docId = asked.get('open');
window.bootRun = docId === null ? undefined : openTimed(docId, asked.has('sync'));
