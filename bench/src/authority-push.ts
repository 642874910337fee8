// The coordinator's document alone (issue 10, must-show 3): an AuthorityDocument over files (FsByteStore,
// the coordinator's journal with its fsyncs) taking one-todo pushes one at a time, 2 ms apart, as one
// raw pusher does: CPU per push (the process's: the document's thread and the fs thread pool) and the
// push's time to its durable report. No sockets, no worker hop: what the document costs per frame.
// The floor is the same document in memory (no journal). AUTHORITY_BASELINE=<another checkout, built>
// adds that build's document over files, its rounds interleaved with ours.
// Each round is its own process; the lines are medians of the rounds.
//
// Usage: node dist/authority-push.js  (BENCH_RUNS rounds, 5 by default; AUTHORITY_PUSHES per round)
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { median, report } from './report.js';

const ROUNDS = Number(process.env.BENCH_RUNS ?? 5);
const PUSHES = Number(process.env.AUTHORITY_PUSHES ?? 400);
const WARM_UP = 50;
const OURS = fileURLToPath(new URL('../..', import.meta.url));
const BASELINE = process.env.AUTHORITY_BASELINE;

interface Round {
  /** CPU per push, ms (user + system, every thread of the process). */
  readonly cpuMs: number;
  /** Median time from `push` to its report, ms. */
  readonly p50Ms: number;
}

/** One round in this process: `root`'s build, over files unless `memory`. */
async function round(root: string, memory: boolean): Promise<Round> {
  const load = (path: string) => import(pathToFileURL(join(root, path)).href);
  const { AuthorityDocument, fileAuthorityStore } = await load('coordinator/dist/index.js');
  const { FsByteStore } = await load('host-node/dist/index.js');
  const { loadReducer } = await load('runtime/dist/prepare.js');
  const reducer = await loadReducer(readFileSync(join(root, 'reducers/todo/dist/reducer.wasm')));
  const dir = await mkdtemp(join(tmpdir(), 'tandem-authority-push-'));
  const files = await FsByteStore.open(dir);
  const document = await AuthorityDocument.open({
    docId: 'bench',
    reducer,
    ...(!memory && { store: fileAuthorityStore(files) }),
  });
  const utf8 = new TextEncoder();
  const times: number[] = [];
  let cpu = process.cpuUsage();
  for (let lsn = 0; lsn < WARM_UP + PUSHES; lsn++) {
    if (lsn === WARM_UP) cpu = process.cpuUsage();
    const payload = utf8.encode(
      JSON.stringify({ type: 'create', id: `t-${lsn}`, title: `a small todo ${lsn}` }),
    );
    const start = performance.now();
    await document.push([
      { timelineId: 'pusher', mutations: [{ timelineId: 'pusher', lsn, timestamp: 1_000 + lsn, payload }] },
    ]);
    if (lsn >= WARM_UP) times.push(performance.now() - start);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  const used = process.cpuUsage(cpu);
  await document.close();
  await files.close();
  await rm(dir, { recursive: true, force: true });
  return { cpuMs: (used.user + used.system) / 1000 / PUSHES, p50Ms: median(times) };
}

/** A round in a fresh process (no JIT, heap or page cache state carried from the round before). */
function inChild(root: string, memory: boolean): Promise<Round> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['round', root, memory ? 'memory' : 'files']);
    child.once('message', (result: Round) => resolve(result));
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`a round exited with code ${code}`));
    });
  });
}

async function main(): Promise<void> {
  console.log(
    `# authority-push: load average ${loadavg()[0]!.toFixed(1)}; ${PUSHES} one-todo pushes one at a time, 2 ms apart, after ${WARM_UP} unmeasured; median of ${ROUNDS} rounds, each in its own process${BASELINE === undefined ? '' : `; baseline ${BASELINE}`}`,
  );
  const ours: Round[] = [];
  const floor: Round[] = [];
  const baseline: Round[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    ours.push(await inChild(OURS, false));
    floor.push(await inChild(OURS, true));
    if (BASELINE !== undefined) baseline.push(await inChild(BASELINE, false));
  }
  for (const [key, figure] of [
    ['cpuMs', 'authority: CPU per push, over files'],
    ['p50Ms', 'authority: push → durable report p50, over files'],
  ] as const) {
    const value = median(ours.map((r) => r[key]));
    const memory = median(floor.map((r) => r[key]));
    const base = BASELINE === undefined ? undefined : median(baseline.map((r) => r[key]));
    report(
      figure,
      value,
      'ms',
      `floor ${memory.toFixed(2)} ms (in memory), ratio ${(value / memory).toFixed(2)}${base === undefined ? '' : `; baseline ${base.toFixed(2)} ms, ratio ${(value / base).toFixed(2)}`}`,
    );
  }
}

if (process.argv[2] === 'round') {
  process.send?.(await round(process.argv[3]!, process.argv[4] === 'memory'));
} else {
  await main();
}
