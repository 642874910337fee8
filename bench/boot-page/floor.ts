// The floor's page: nothing of Tandem. A new dedicated worker of raw sqlite-wasm (floor-worker.ts)
// reads a SQLite file from OPFS and answers the query. `/floor.html?open=<name>` runs one timed boot
// as the page loads, timed from its navigation start as the boot page's.

import { askWorker } from '../page-support/ask-worker.js';
import type { FloorPage, FloorTiming } from '../src/boot-page-api.js';
import type { FromFloor, ToFloor } from './queries.js';

const ask = (worker: Worker, message: ToFloor) => askWorker<FromFloor>(worker, message);

const floorWorker = () => new Worker(new URL('./floor-worker.ts', import.meta.url), { type: 'module' });

async function openTimed(name: string): Promise<FloorTiming> {
  const start = performance.now();
  const worker = floorWorker();
  const reply = await ask(worker, { type: 'open', name });
  const answered = performance.now();
  worker.terminate();
  if (reply.type !== 'rows') throw new Error('the floor did not answer');
  return { sinceNavigationMs: answered, workerMs: answered - start, rows: reply.n };
}

window.floorPage = {
  async write(name, count) {
    const worker = floorWorker();
    await ask(worker, { type: 'write', name, count });
    worker.terminate();
  },
} satisfies FloorPage;

const name = new URLSearchParams(location.search).get('open');
window.bootRun = name === null ? undefined : openTimed(name);
