// A rebase as PEERS.md measures Replicache's: 1000 keys of ~1 KB in the base, 1001 pending ~1 KB
// mutations in the overlay, then a burst from the coordinator that takes none of them, so every one is
// reduced again. Also: mutations awaited one by one (in memory, and durable in a data folder).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDocument } from '@tandem/host-node';
import { AuthorityDocument } from '@tandem/migrations';
import type { MutationEnvelope } from '@tandem/runtime';
import { loadReducer } from '@tandem/runtime/prepare';
import { report } from './report.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const REDUCER = new URL('../../e2e/fixtures/limits-reducer/dist/reducer.wasm', import.meta.url);
const TODO = new URL('../../reducers/todo/dist/reducer.wasm', import.meta.url);
const KB = 'x'.repeat(1000);

const put = (key: number, value: string) => ({
  op: 'sql',
  q: `INSERT OR REPLACE INTO kv VALUES ('k${key}', '${value}')`,
});
const encode = (body: object) => new TextEncoder().encode(JSON.stringify(body));

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

const reducer = await loadReducer(await readFile(REDUCER));
const authority = await AuthorityDocument.open({ docId: 'rebase-bench', reducer });
const seed: MutationEnvelope[] = [
  {
    timelineId: 'seed',
    lsn: 0,
    timestamp: 0,
    payload: encode({ op: 'sql', q: 'CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT)' }),
  },
  ...Array.from({ length: 1000 }, (_, i) => ({
    timelineId: 'seed',
    lsn: i + 1,
    timestamp: 0,
    payload: encode(put(i, KB)),
  })),
];
await authority.push([{ timelineId: 'seed', mutations: seed }]);

const doc = await openDocument({ docId: 'rebase-bench', reducer });
const catchUp = authority.framesSince(0);
if (catchUp.status !== 'frames') throw new Error('the authority kept no frames to catch up from');
doc.rebase({ journalId: 'bench', frames: catchUp.frames.map((kept) => kept.frame) });
await doc.mutateBatch(Array.from({ length: 1001 }, (_, i) => put(i % 1000, `${i}${KB}`.slice(0, 1000))));
const times: number[] = [];
for (let run = 0; run < RUNS; run++) {
  const start = performance.now();
  doc.rebase({ journalId: 'bench', frames: [] });
  times.push(performance.now() - start);
}
times.sort((a, b) => a - b);
console.log(
  `# rebase and mutate, Node ${process.version}; Replicache 15.3.0 beside (PEERS.md: Node median 363 ms, p95 592)`,
);
report(
  'rebase: 1001 pending ~1 KB mutations over 1000 keys, median',
  percentile(times, 0.5),
  'ms',
  `p95 ${percentile(times, 0.95).toFixed(0)} ms, ${RUNS} runs`,
);
await doc.close();
await authority.close();

async function awaitedOneByOne(count: number, dataDir?: string): Promise<number> {
  const todo = await openDocument({
    docId: `awaited-${dataDir === undefined ? 'memory' : 'disk'}`,
    reducer: TODO.pathname,
    ...(dataDir && { dataDir }),
  });
  const start = performance.now();
  for (let i = 0; i < count; i++)
    await todo.mutate({
      type: 'create',
      id: `t${i}`,
      title: 'about a hundred bytes of title text, as the peers measure with their ~100 B puts',
    });
  const rate = (count / (performance.now() - start)) * 1000;
  await todo.close();
  return rate;
}
report(
  '10,000 mutations awaited one by one, in memory',
  await awaitedOneByOne(10_000),
  'mutations/s',
  'Replicache mem store 5.4k–6.4k/s',
);
const dir = await mkdtemp(join(tmpdir(), 'tandem-bench-'));
report(
  '1,000 mutations awaited one by one, durable (fsync each)',
  await awaitedOneByOne(1_000, dir),
  'mutations/s',
);
await rm(dir, { recursive: true, force: true });
