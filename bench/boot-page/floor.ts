// The floor's page: nothing of Tandem. A new dedicated worker of raw sqlite-wasm (floor-worker.ts)
// reads a SQLite file from OPFS and answers the query. `/floor.html?open=<name>` runs one timed boot
// as the page loads, timed from its navigation start as the boot page's; `/floor.html?worker` times a
// new worker that only answers (empty-worker.ts).
const scriptMs = performance.now();

import { askWorker } from '../page-support/ask-worker.js';
import type { FloorPage, FloorTiming, WorkerFloorTiming } from '../src/boot-page-api.js';
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
  return { sinceNavigationMs: answered, scriptMs, workerMs: answered - start, rows: reply.n };
}

async function emptyWorkerTimed(): Promise<WorkerFloorTiming> {
  const worker = new Worker(new URL('./empty-worker.ts', import.meta.url), { type: 'module' });
  const reply = await ask(worker, { type: 'ping' });
  const answered = performance.now();
  worker.terminate();
  if (reply.type !== 'pong') throw new Error('the empty worker did not answer');
  return { sinceNavigationMs: answered, scriptMs };
}

window.floorPage = {
  async write(name, count) {
    const worker = floorWorker();
    await ask(worker, { type: 'write', name, count });
    worker.terminate();
  },
} satisfies FloorPage;

const asked = new URLSearchParams(location.search);
const name = asked.get('open');
if (asked.has('worker')) window.bootRun = emptyWorkerTimed();
else if (name !== null) window.bootRun = openTimed(name);
