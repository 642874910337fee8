// The Chromium boot page: opens a document through host-browser's tab API exactly as the demo app does
// (the reducer `/reducers/current` names, persisted in OPFS) and times it to its first answer; beside
// it, the floor in a new worker of raw sqlite-wasm. Timings are taken here, in the tab.
import { openDocument } from '@tandem/host-browser';
import type { BootPage, BootTiming } from '../src/boot-page-api.js';
import { COUNT_TODOS, type FromFloor, type ToFloor, todo } from './queries.js';

const FILL_BATCH = 1000;
const coordinatorUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/sync`;

/** The prepared reducer's URL, as the app asks for it. */
async function currentReducer(): Promise<URL> {
  const response = await fetch('/reducers/current', { cache: 'no-store' });
  const body = (await response.json()) as { url: string };
  return new URL(body.url, location.href);
}

function ask(worker: Worker, message: ToFloor): Promise<FromFloor> {
  return new Promise((resolve, reject) => {
    worker.onmessage = ({ data }: MessageEvent<FromFloor>) =>
      data.type === 'failed' ? reject(new Error(data.message)) : resolve(data);
    worker.onerror = (event) => reject(new Error(`floor worker: ${event.message}`));
    worker.postMessage(message);
  });
}

const floorWorker = () => new Worker(new URL('./floor-worker.ts', import.meta.url), { type: 'module' });

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
  async openTimed(docId, sync): Promise<BootTiming> {
    const reducer = await currentReducer();
    const start = performance.now();
    const doc = await openDocument({ docId, reducer, ...(sync && { coordinatorUrl }) });
    const opened = performance.now();
    const rows = await doc.query(COUNT_TODOS);
    const answered = performance.now();
    const { persisted, warning } = doc.status;
    await doc.close();
    return {
      firstQueryMs: answered - start,
      openMs: opened - start,
      rows: Number(rows[0]?.n),
      persisted,
      ...(warning !== undefined && { warning }),
    };
  },
  async floorWrite(name, count) {
    const worker = floorWorker();
    await ask(worker, { type: 'write', name, count });
    worker.terminate();
  },
  async floorOpenTimed(name) {
    const start = performance.now();
    const worker = floorWorker();
    const reply = await ask(worker, { type: 'open', name });
    const ms = performance.now() - start;
    worker.terminate();
    if (reply.type !== 'rows') throw new Error('the floor did not answer');
    return { ms, rows: reply.n };
  },
} satisfies BootPage;
