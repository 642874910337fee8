// How a document answers while another document of the same coordinator burns its reducer's whole fuel
// budget on every mutation: push round-trip latency idle and busy, with the documents on two workers
// (the default on this 2-core machine) and, for contrast, sharing one.
import { readFile } from 'node:fs/promises';
import { DocumentPool } from '@tandem/coordinator';
import type { MutationEnvelope } from '@tandem/runtime';
import { median, report } from './report.js';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 60);
const REDUCER = new URL('../../e2e/fixtures/limits-reducer/dist/reducer.wasm', import.meta.url);

function op(timelineId: string, lsn: number, body: object): MutationEnvelope {
  return { timelineId, lsn, timestamp: 0, payload: new TextEncoder().encode(JSON.stringify(body)) };
}

async function latencies(workers: number): Promise<{ idle: number; busy: number }> {
  const pool = new DocumentPool({ reducer: await readFile(REDUCER), workers });
  let calmLsn = 0;
  let busyLsn = 0;
  const calmPush = async (): Promise<number> => {
    const start = performance.now();
    await pool.push('calm', [{ timelineId: 'c', mutations: [op('c', calmLsn++, { op: 'write' })] }]);
    return performance.now() - start;
  };
  await pool.push('busy', [{ timelineId: 'b', mutations: [op('b', busyLsn++, { op: 'write' })] }]);
  for (let i = 0; i < 10; i++) await calmPush();
  const idle: number[] = [];
  for (let i = 0; i < SAMPLES; i++) idle.push(await calmPush());

  let burning = true;
  const burn = (async () => {
    while (burning) {
      await pool.push('busy', [{ timelineId: 'b', mutations: [op('b', busyLsn++, { op: 'spin' })] }]);
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, 50));
  const busy: number[] = [];
  for (let i = 0; i < SAMPLES; i++) busy.push(await calmPush());
  burning = false;
  await burn;
  await pool.close();
  return { idle: median(idle), busy: median(busy) };
}

console.log(
  `# isolation: push latency of a document while another burns its fuel budget, median of ${SAMPLES}, Node ${process.version}`,
);
const apart = await latencies(2);
report('push latency, idle (2 workers)', apart.idle, 'ms');
report(
  'push latency, neighbour burning its budget (2 workers)',
  apart.busy,
  'ms',
  `${(apart.busy / apart.idle).toFixed(2)}× idle`,
);
const shared = await latencies(1);
report('push latency, idle (1 worker, shared)', shared.idle, 'ms');
report(
  'push latency, neighbour burning (1 worker, shared)',
  shared.busy,
  'ms',
  `${(shared.busy / shared.idle).toFixed(2)}× idle`,
);
