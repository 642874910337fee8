// What the deterministic limits cost (DESIGN.md §4): mutations/s with the metered reducer beside the
// same reducer unmetered (`LoadOptions.unmetered`), how long instrumenting takes, and how long a
// runaway mutation runs before its limit stops it under the default budgets.

import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { openDocument } from '@tandem/host-node';
import { DEFAULT_LIMITS, type ReducerModule } from '@tandem/runtime';
import { loadReducer } from '@tandem/runtime/prepare';
import { medianMs, report } from './report.js';

const TODO = fileURLToPath(new URL('../../reducers/todo/dist/reducer.wasm', import.meta.url));
const LIMITS = fileURLToPath(new URL('../../e2e/fixtures/limits-reducer/dist/reducer.wasm', import.meta.url));
const TOTAL = Number(process.env.BENCH_MUTATIONS ?? 5_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

let docs = 0;

/** Mutations per second of `make(i)` in batches of `batchSize`. */
async function throughput(
  reducer: ReducerModule,
  batchSize: number,
  total: number,
  make: (i: number) => Record<string, unknown>,
): Promise<number> {
  const ms = await medianMs(RUNS, async () => {
    const doc = await openDocument({ docId: `metering-${docs++}`, reducer });
    for (let start = 0; start < total; start += batchSize) {
      const batch = [];
      for (let i = start; i < Math.min(total, start + batchSize); i++) batch.push(make(i));
      await doc.mutateBatch(batch);
    }
    await doc.close();
  });
  return (total / ms) * 1000;
}

async function compare(
  what: string,
  bytes: Uint8Array,
  batchSize: number,
  total: number,
  make: (i: number) => Record<string, unknown>,
): Promise<void> {
  const metered = await loadReducer(bytes);
  const unmetered = await loadReducer(bytes, { unmetered: true });
  // Interleaved, so drift in the machine's speed hits both alike.
  const with_: number[] = [];
  const without: number[] = [];
  for (let round = 0; round < 3; round++) {
    without.push(await throughput(unmetered, batchSize, total, make));
    with_.push(await throughput(metered, batchSize, total, make));
  }
  const best = (xs: number[]) => Math.max(...xs);
  const overhead = (1 - best(with_) / best(without)) * 100;
  report(`${what}, batch ${batchSize}, unmetered`, best(without), 'mutations/s');
  report(
    `${what}, batch ${batchSize}, metered`,
    best(with_),
    'mutations/s',
    `${overhead.toFixed(1)}% overhead`,
  );
}

const todo = new Uint8Array(await readFile(TODO));
const limits = new Uint8Array(await readFile(LIMITS));

console.log(`# metering: median of ${RUNS} runs, best of 3 rounds, Node ${process.version}`);
const create = (i: number) => ({ type: 'create', id: `id-${i}`, title: `todo number ${i}, something to do` });
await compare('todo create', todo, 1, TOTAL, create);
await compare('todo create', todo, 100, TOTAL, create);
await compare('10,000-iteration loop', limits, 100, TOTAL / 5, () => ({
  op: 'work',
  n: 10_000,
}));
await compare('recursive fib(20): 21,891 calls', limits, 100, TOTAL / 10, () => ({ op: 'fib', n: 20 }));

const loadMs = await medianMs(RUNS, async () => {
  // Another memory limit is another cache key: each load instruments afresh.
  await loadReducer(todo, { limits: { maxMemoryPages: 100 + docs++ } });
});
report(
  'instrumenting + compiling the todo reducer (cache miss)',
  loadMs,
  'ms',
  `${(todo.length / 1024).toFixed(1)} KB`,
);
const cachedMs = await medianMs(RUNS, async () => {
  await loadReducer(todo);
});
report('loading the todo reducer again (cached by hash)', cachedMs, 'ms');

const runaway = await loadReducer(limits);
for (const op of ['spin', 'alloc', 'cte']) {
  const doc = await openDocument({ docId: `runaway-${op}`, reducer: runaway });
  const ms = await medianMs(3, async () => {
    const [result] = await doc.mutateBatch([{ op }]);
    if (result?.status !== 'rejected') throw new Error(`${op} was not rejected`);
  });
  await doc.close();
  report(`runaway '${op}' until rejected (default limits, 2 runs)`, ms, 'ms', limitOf(op));
}

function limitOf(op: string): string {
  if (op === 'spin') return `fuel ${DEFAULT_LIMITS.fuelPerMutation.toLocaleString('en-US')}`;
  if (op === 'alloc') return `memory ${DEFAULT_LIMITS.maxMemoryPages} pages`;
  return `SQL steps ${DEFAULT_LIMITS.sqlStepsPerMutation.toLocaleString('en-US')}`;
}
