// Boot to first query answer (issue 10, must-show 4), in Node: each sample is a new process
// (boot-child.ts) that imports host-node, opens a document kept in a data folder and answers
// `SELECT count(*)` on it; beside it, interleaved round by round, the floor: a new process that imports
// raw sqlite-wasm, loads a SQLite file holding the same rows and answers the same query. The `boot`
// figure runs from the call that opens (openDocument; the floor's sqlite3InitModule) to the answer: in a
// new process everything compiled is compiled in there (sqlite-wasm's module, the reducer's), as in a
// browser's new worker; importing the JavaScript before it is a figure of its own (`boot import`).
//   empty:       a persisted document with no rows (the todo schema only);
//   pending 20k: 20,000 todo creates never synced (every one pending in the timeline), closed cleanly;
//   synced 10k:  10,000 todos confirmed by a coordinator (its pages in the client's base), opened with
//                the coordinator running, as an app opens it.
// The reducer cache is warm (the bench prepared it once), as after `tandem build` or a first open.
// Everything a process pays is per process: module import, sqlite-wasm's compile, the reducer's
// compile; nothing is shared between samples but the files on disk and the OS's file cache.
// `BENCH_BASELINE=<checkout>` (built) also boots that checkout's boot-child on the same files, in each
// round beside ours, and prints its figures beside ours (wall and CPU to the answer, the import's wall and CPU).
// The Chromium side of the figure is in boot-browser.ts.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sqlite3InitModule from '@sqlite.org/sqlite-wasm';
import { createLog, startCoordinator } from '@tandem/coordinator';
import { openDocument } from '@tandem/host-node';
import type { BootTiming } from './boot-child.js';
import { median } from './report.js';

const run = promisify(execFile);
const ROUNDS = Math.max(5, Number(process.env.BENCH_RUNS ?? 7));
const CHILD = fileURLToPath(new URL('./boot-child.js', import.meta.url));
const BASELINE = process.env.BENCH_BASELINE;
const BASE_CHILD = BASELINE === undefined ? undefined : join(BASELINE, 'bench/dist/boot-child.js');
const TODO_REDUCER = fileURLToPath(new URL('../../reducers/todo/dist/reducer.wasm', import.meta.url));
const QUERY = 'SELECT count(*) AS n FROM todos';
const BATCH = 1000;
const SCHEMA =
  'CREATE TABLE todos (id TEXT PRIMARY KEY, title TEXT NOT NULL, completed INTEGER NOT NULL, created_at INTEGER NOT NULL)';

interface Case {
  readonly name: string;
  readonly docId: string;
  readonly rows: number;
  readonly goalMs: number;
  readonly synced: boolean;
}

const CASES: readonly Case[] = [
  { name: 'empty', docId: 'empty', rows: 0, goalMs: 100, synced: false },
  { name: 'pending 20k', docId: 'pending', rows: 20_000, goalMs: 300, synced: false },
  { name: 'synced 10k', docId: 'synced', rows: 10_000, goalMs: 150, synced: true },
];

const todo = (i: number) => ({ type: 'create', id: `t${i}`, title: `todo number ${i}` });

const temp = await mkdtemp(join(tmpdir(), 'tandem-bench-boot-'));
// The children find the prepared reducer here (and only here): warm after the setup's opens.
const env = { ...process.env, TANDEM_PREPARED_CACHE: join(temp, 'prepared') };
process.env.TANDEM_PREPARED_CACHE = env.TANDEM_PREPARED_CACHE;
await mkdir(env.TANDEM_PREPARED_CACHE, { recursive: true });
const dataDir = join(temp, 'data');
const coordinator = await startCoordinator({
  reducer: TODO_REDUCER,
  dataDir: join(temp, 'coordinator'),
  port: 0,
  workers: 1,
  log: createLog({ level: 'warn' }),
});
const coordinatorUrl = `${coordinator.url.replace(/^http/, 'ws')}/sync`;

try {
  for (const c of CASES) await fill(c);
  const ours = new Map<string, BootTiming[]>();
  const floor = new Map<string, BootTiming[]>();
  const baseline = new Map<string, BootTiming[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of CASES) {
      push(ours, c.name, await child('ours', c));
      if (BASE_CHILD !== undefined) push(baseline, c.name, await child('ours', c, BASE_CHILD));
      push(floor, c.name, await child('floor', c));
    }
  }
  console.log(`# boot to first query answer, Node ${process.version}: new process each, median of ${ROUNDS}`);
  for (const c of CASES) {
    const mine = ours.get(c.name) ?? [];
    const base = floor.get(c.name) ?? [];
    const x = median(mine.map((t) => t.totalMs - t.importMs));
    const y = median(base.map((t) => t.totalMs - t.importMs));
    console.log(
      `boot ${c.name} (node): ours ${x.toFixed(0)} ms, floor ${y.toFixed(0)} ms, ratio ${(x / y).toFixed(2)} (goal ${c.goalMs} ms)`,
    );
    const part = (timings: readonly BootTiming[], key: 'importMs' | 'openMs' | 'totalMs') =>
      median(timings.map((t) => t[key])).toFixed(0);
    console.log(
      `  ours: openDocument ${part(mine, 'openMs')} ms, ${median(mine.map((t) => t.rerun ?? 0))} mutations reduced at open, ` +
        `with the import ${part(mine, 'totalMs')} ms; floor: init + load ${part(base, 'openMs')} ms, with the import ${part(base, 'totalMs')} ms; ` +
        `CPU to the answer: ours ${median(mine.map((t) => t.openCpuMs)).toFixed(0)} ms, floor ${median(base.map((t) => t.openCpuMs)).toFixed(0)} ms`,
    );
    const before = baseline.get(c.name);
    if (before !== undefined) {
      const b = median(before.map((t) => t.totalMs - t.importMs));
      console.log(
        `  baseline [${BASELINE}]: boot ${b.toFixed(0)} ms (ours/baseline ${(x / b).toFixed(2)}), ` +
          `CPU to the answer ${median(before.map((t) => t.openCpuMs)).toFixed(0)} ms, with the import ${median(before.map((t) => t.totalMs)).toFixed(0)} ms`,
      );
    }
  }
  const imports = (timings: Map<string, BootTiming[]>) =>
    median([...timings.values()].flat().map((t) => t.importMs));
  const ix = imports(ours);
  const iy = imports(floor);
  console.log(
    `boot import (node): ours ${ix.toFixed(0)} ms, floor ${iy.toFixed(0)} ms, ratio ${(ix / iy).toFixed(2)} (host-node against sqlite-wasm alone; Node's own start, ~${median([...ours.values()].flat().map((t) => t.nodeStartMs)).toFixed(0)} ms, before either)`,
  );
  const importCpu = (timings: Map<string, BootTiming[]>) =>
    median([...timings.values()].flat().map((t) => t.importCpuMs ?? Number.NaN)).toFixed(0);
  console.log(`  import CPU: ours ${importCpu(ours)} ms, floor ${importCpu(floor)} ms`);
  if (baseline.size > 0) {
    console.log(
      `  baseline [${BASELINE}]: import ${imports(baseline).toFixed(0)} ms, import CPU ${importCpu(baseline)} ms`,
    );
  }
} finally {
  await coordinator.close();
  await rm(temp, { recursive: true, force: true });
}

function push(map: Map<string, BootTiming[]>, key: string, value: BootTiming): void {
  const list = map.get(key) ?? [];
  list.push(value);
  map.set(key, list);
}

async function child(side: 'ours' | 'floor', c: Case, script = CHILD): Promise<BootTiming> {
  const where = side === 'ours' ? dataDir : floorFile(c);
  const args = [script, side, where, c.docId, TODO_REDUCER, QUERY, c.synced ? coordinatorUrl : ''];
  const { stdout } = await run(process.execPath, args, { env, maxBuffer: 1 << 20 });
  const timing = JSON.parse(stdout.trim().split('\n').at(-1)!) as BootTiming;
  if (timing.rows !== c.rows)
    throw new Error(`${side} ${c.name} answered ${timing.rows} rows, not ${c.rows}`);
  return timing;
}

function floorFile(c: Case): string {
  return join(temp, `${c.docId}.sqlite`);
}

/** The document of case `c` in the data folder, and the floor's SQLite file with the same rows. */
async function fill(c: Case): Promise<void> {
  const doc = await openDocument({
    docId: c.docId,
    reducer: TODO_REDUCER,
    dataDir,
    ...(c.synced && { coordinatorUrl }),
  });
  for (let from = 0; from < c.rows; from += BATCH) {
    const count = Math.min(BATCH, c.rows - from);
    await doc.mutateBatch(Array.from({ length: count }, (_, k) => todo(from + k)));
  }
  if (c.synced) await doc.synced();
  if (c.synced && doc.pendingCount !== 0) throw new Error('the synced case still has pending mutations');
  await doc.close();

  const sqlite3 = await sqlite3InitModule();
  const db = new sqlite3.oo1.DB(':memory:');
  db.exec('PRAGMA page_size = 4096');
  db.exec(SCHEMA);
  db.transaction((tx) => {
    for (let i = 0; i < c.rows; i++) {
      const { id, title } = todo(i);
      tx.exec('INSERT INTO todos (id, title, completed, created_at) VALUES (?, ?, 0, ?)', {
        bind: [id, title, i],
      });
    }
  });
  await writeFile(floorFile(c), sqlite3.capi.sqlite3_js_db_export(db));
  db.close();
}

// The same figures in Chromium (boot-browser.ts); BENCH_BOOT_CHROMIUM=0 leaves them out.
if (process.env.BENCH_BOOT_CHROMIUM !== '0') await import('./boot-browser.js');
