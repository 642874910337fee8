// Rebase of 1,001 pending ~1 KB mutations (issue 10, must-show 2), as PEERS.md measures Replicache's true
// rebase (rebase-scenario.ts), timed from the coordinator's message bytes: decode, page deltas, rebase,
// all 1,001 reduced again. Interleaved run by run with its floor (rebase-floor.ts: raw sqlite-wasm doing
// the same puts), in Node and then in Debian's Chromium (rebase-chromium.ts; BENCH_NO_BROWSER=1 skips it).
// Also: mutations awaited one by one (in memory, and durable in a data folder).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sqlite3InitModule from '@sqlite.org/sqlite-wasm';
import { openDocument } from '@tandem/host-node';
import { receiveBurst } from './rebase-client.js';
import { kvFloor } from './rebase-floor.js';
import {
  basePuts,
  KV_REDUCER,
  makeScenario,
  pendingValue,
  type RebaseScenario,
  rebaseLine,
} from './rebase-scenario.js';
import { report } from './report.js';

const RUNS = Math.max(5, Number(process.env.BENCH_RUNS ?? 21));
const WARM_UP = 2;
const TODO = new URL('../../reducers/todo/dist/reducer.wasm', import.meta.url);

async function inNode(scenario: RebaseScenario): Promise<string> {
  const doc = await openDocument({ docId: 'rebase-bench', reducer: fileURLToPath(KV_REDUCER) });
  for (const message of scenario.baseMessages) await receiveBurst(doc, scenario.journalId, message);
  const results = await doc.mutateBatch(scenario.pending);
  const refused = results.find((r) => r.status !== 'applied');
  if (refused !== undefined) throw new Error(`a pending put was not applied: ${JSON.stringify(refused)}`);
  const floor = kvFloor(await sqlite3InitModule(), basePuts(), scenario.pending);
  const ours: number[] = [];
  const floors: number[] = [];
  const cpu: number[] = [];
  for (const [run, burst] of scenario.bursts.entries()) {
    const cpuBefore = process.cpuUsage();
    let start = performance.now();
    await receiveBurst(doc, scenario.journalId, burst);
    const oursMs = performance.now() - start;
    const { user, system } = process.cpuUsage(cpuBefore);
    start = performance.now();
    floor.run();
    const floorMs = performance.now() - start;
    if (run < WARM_UP) continue;
    ours.push(oursMs);
    floors.push(floorMs);
    cpu.push((user + system) / 1000);
  }
  // The last put of k0 is pending put 1000; the bursts' keys arrived beside it.
  const [row] = await doc.query('SELECT v, (SELECT count(*) FROM kv) AS n FROM kv WHERE k = ?', ['k0']);
  if (row?.v !== pendingValue(1000) || row.n !== 1000 + scenario.bursts.length) {
    throw new Error(`the rebased document is not what the puts make: ${JSON.stringify(row)}`);
  }
  floor.close();
  await doc.close();
  return rebaseLine('node', ours, floors, cpu);
}

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

console.log(
  `# rebase, Node ${process.version}; Replicache 15.3.0 true rebase beside it in PEERS.md (Node median 363 ms, Chromium 123 ms)`,
);
const scenario = await makeScenario(WARM_UP + RUNS);
console.log(await inNode(scenario));
if (process.env.BENCH_NO_BROWSER !== '1') {
  const { inChromium } = await import('./rebase-chromium.js');
  console.log(await inChromium(scenario, WARM_UP));
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
