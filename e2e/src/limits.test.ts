// The deterministic limits of DESIGN.md §4 across hosts: a mutation that runs forever, allocates
// without end, recurses without end or runs a runaway recursive CTE is rejected with its limit's reason, after the same
// work in Node and in Chromium (identical pages), and the mutations behind it still apply. So is one
// whose write SQLite aborts by rolling back the whole transaction.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { componentEmbed, componentNew, parse } from '@bytecodealliance/jco';
import { DEFAULT_LIMITS, LIMIT_REASONS } from '@tandem/runtime';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type {} from './determinism/page-api.js';
import { type RunResult, runInNode } from './determinism/run.js';
import { toJson, type WorkloadBatch, type WorkloadMutation } from './determinism/workload.js';
import { launchChromium } from './support/chromium.js';
import { preparedReducerUrl } from './support/prepared-reducer.js';
import { type FixtureServer, REPO_ROOT, serveFixture } from './support/vite-server.js';

const run = promisify(execFile);
const NODE_RUN = join(REPO_ROOT, 'e2e/dist/determinism/node-run.js');
const REDUCER = join(REPO_ROOT, 'e2e/fixtures/limits-reducer/dist/reducer.wasm');

let browser: Browser;
let server: FixtureServer;
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'tandem-limits-'));
  server = await serveFixture(join(REPO_ROOT, 'e2e/fixtures/determinism-page'));
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await rm(scratch, { recursive: true, force: true });
});

let workloads = 0;

/** Runs the workload in another Node process, started with `nodeOptions` (e.g. `--stack-size=500`). */
async function runInProcess(
  batches: readonly WorkloadBatch[],
  reducer = REDUCER,
  nodeOptions: readonly string[] = [],
): Promise<RunResult> {
  const file = join(scratch, `workload-${workloads++}.json`);
  await writeFile(file, JSON.stringify(toJson(batches)));
  const { stdout } = await run(process.execPath, [...nodeOptions, NODE_RUN, reducer, file]);
  return JSON.parse(stdout) as RunResult;
}

/** Runs the workload in a Node worker thread with the default resource limits (as DocumentPool's). */
async function runInNodeWorker(batches: readonly WorkloadBatch[], reducer: string): Promise<RunResult> {
  const file = join(scratch, `workload-${workloads++}.json`);
  await writeFile(file, JSON.stringify(toJson(batches)));
  const script = `new (require('node:worker_threads').Worker)(${JSON.stringify(NODE_RUN)}, { argv: ${JSON.stringify([reducer, file])} })`;
  const { stdout } = await run(process.execPath, ['-e', script]);
  return JSON.parse(stdout) as RunResult;
}

/** `reducerUrl`: a prepared reducer; the limits reducer, prepared, by default. */
async function runInChromium(batches: readonly WorkloadBatch[], reducerUrl?: string): Promise<RunResult> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(server.url);
    await page.waitForFunction(() => typeof window.runWorkload === 'function');
    const reply = await page.evaluate(([url, workload]) => window.runWorkload(url, workload), [
      reducerUrl ?? (await preparedReducerUrl(REDUCER)),
      toJson(batches),
    ] as const);
    if (reply.error !== undefined || reply.hash === undefined || reply.outcomes === undefined) {
      throw new Error(`the Chromium worker failed: ${reply.error ?? 'no result'} ${errors.join('\n')}`);
    }
    return { hash: reply.hash, outcomes: reply.outcomes };
  } finally {
    await page.close();
  }
}

const write = { op: 'write' };
const hostile: readonly WorkloadBatch[] = [
  {
    timestamp: 1_000,
    mutations: [
      write,
      { op: 'spin' },
      write,
      { op: 'alloc' },
      write,
      { op: 'cte' },
      write,
      { op: 'recurse' },
      write,
    ],
  },
  { timestamp: 2_000, mutations: [{ op: 'spin' }] },
  { timestamp: 3_000, mutations: [{ op: 'alloc' }, { op: 'cte' }, { op: 'recurse' }] },
  { timestamp: 4_000, mutations: [write, write] },
];

test('an endless loop, endless allocation, a runaway CTE and endless recursion are rejected with their reasons, with the same pages in two Node processes and in Chromium', async () => {
  const [here, other, chromium] = await Promise.all([
    runInNode(REDUCER, hostile),
    runInProcess(hostile),
    runInChromium(hostile),
  ]);
  const { fuel, memory, stack } = LIMIT_REASONS;
  const sql = LIMIT_REASONS['sql-steps'];
  expect(here.outcomes).toEqual([
    ...['ok', fuel, 'ok', memory, 'ok', sql, 'ok', stack, 'ok'],
    ...[fuel, memory, sql, stack, 'ok', 'ok'],
  ]);
  expect(other).toEqual(here);
  expect(chromium).toEqual(here);
}, 120_000);

// Statements SQLite answers by rolling back the whole transaction: a write interrupted by the step
// budget (the recursive CTE below needs ~30,000,000 steps), RAISE(ROLLBACK) in a trigger, and a
// conflict under OR ROLLBACK (lsn 0 is taken by the first write). Each must reject only its mutation.
const runawayInsert = {
  op: 'sql',
  q: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<3000000) INSERT INTO applied SELECT x + 1000000, 0 FROM c',
};
const aborting: readonly WorkloadBatch[] = [
  {
    timestamp: 1_000,
    mutations: [
      write,
      {
        op: 'sql',
        q: "CREATE TRIGGER no_big BEFORE INSERT ON applied WHEN NEW.result > 100 BEGIN SELECT RAISE(ROLLBACK, 'too big'); END",
      },
      write,
      { op: 'sql', q: 'INSERT INTO applied VALUES (999, 101)' },
      write,
      { op: 'sql', q: 'INSERT OR ROLLBACK INTO applied VALUES (0, 0)' },
      write,
    ],
  },
  // Each run holding the runaway write costs a whole step budget: few mutations keep the test short.
  { timestamp: 2_000, mutations: [write, runawayInsert, write] },
  { timestamp: 3_000, mutations: [write] },
];

test('a write SQLite aborts (past the step budget, RAISE(ROLLBACK), OR ROLLBACK) rejects only its mutation, with the same reasons and pages in two Node processes and in Chromium', async () => {
  const [here, other, chromium] = await Promise.all([
    runInNode(REDUCER, aborting),
    runInProcess(aborting),
    runInChromium(aborting),
  ]);
  const sql = LIMIT_REASONS['sql-steps'];
  expect(here.outcomes).toEqual([
    ...['ok', 'ok', 'ok', 'transaction aborted by sqlite: too big', 'ok'],
    ...['transaction aborted by sqlite: UNIQUE constraint failed: applied.lsn', 'ok'],
    ...['ok', sql, 'ok'],
    'ok',
  ]);
  expect(other).toEqual(here);
  expect(chromium).toEqual(here);
}, 300_000);

// What a reducer sees of SQL errors and its own aborts (reducer world 0.2.0): the same reasons, to the
// byte, in Node and in Chromium.
test('abort("x must be positive") rejects with its text and file:line:column, a SQL error carries its extended code, and a script runs statement by statement: the same in two Node processes and in Chromium', async () => {
  const source = await readFile(join(REPO_ROOT, 'e2e/fixtures/limits-reducer/assembly/index.ts'), 'utf8');
  const lines = source.split('\n');
  const line = lines.findIndex((l) => l.includes("abort('x must be positive')")) + 1;
  const column = lines[line - 1]!.indexOf("abort('x") + 1;
  const batches: readonly WorkloadBatch[] = [
    {
      timestamp: 1_000,
      mutations: [
        write,
        { op: 'check', n: 0 },
        { op: 'check', n: 5 },
        { op: 'code', q: 'INSERT INTO applied VALUES (0, 0)' },
        { op: 'code', q: 'INSERT INTO nowhere VALUES (1)' },
        {
          op: 'script',
          q: "CREATE TABLE s (x TEXT); INSERT INTO s VALUES ('a;b'); -- one;\nINSERT INTO s VALUES ('c'), ('d');",
        },
        { op: 'script', q: 'INSERT INTO s VALUES (1); INSERT INTO s VALUES (1, 2)' },
        write,
      ],
    },
  ];
  const [here, other, chromium] = await Promise.all([
    runInNode(REDUCER, batches),
    runInProcess(batches),
    runInChromium(batches),
  ]);
  expect(here.outcomes).toEqual([
    'ok',
    `reducer trapped: abort: x must be positive at assembly/index.ts:${line}:${column}`,
    'ok',
    '1555 UNIQUE constraint failed: applied.lsn',
    '1 no such table: nowhere',
    'ok',
    '1 statement 2: table s has 1 columns but 2 values were supplied',
    'ok',
  ]);
  expect(other).toEqual(here);
  expect(chromium).toEqual(here);
}, 120_000);

test('the limits in force are the defaults every host shares', () => {
  expect(DEFAULT_LIMITS).toEqual({
    fuelPerMutation: 20_000_000,
    sqlStepsPerMutation: 10_000_000,
    maxMemoryPages: 512,
    maxStackBytes: 256 * 1024,
    maxModuleBytes: 8 * 1024 * 1024,
  });
});

/**
 * Mutations whose cost sweeps in small steps across a small budget, each behind garbage that leaves
 * the allocator in another state depending on the batch: alone or batched, each gets the same verdict.
 */
function nearLimit(op: 'work' | 'steps', from: number, to: number, step: number): WorkloadMutation[] {
  const mutations: WorkloadMutation[] = [];
  for (let n = from; n <= to; n += step) mutations.push({ op: 'garbage', n: (n * 7) % 300 }, { op, n });
  return mutations;
}

const FUEL = 20_000;
const SQL_STEPS = 100_000;

test.each([
  // `work n` costs n fuel plus a few hundred for parsing and the SQL call.
  { limit: 'fuel', mutations: nearLimit('work', FUEL - 1_000, FUEL, 1) },
  // `steps n` costs about 17 steps per row of its recursive CTE.
  { limit: 'SQL steps', mutations: nearLimit('steps', 5_000, 6_500, 3) },
] as const)(
  'a mutation near the $limit limit gets the same verdict batched and alone',
  async ({ mutations }) => {
    const limits = { fuelPerMutation: FUEL, sqlStepsPerMutation: SQL_STEPS };
    const oneBatch = [{ timestamp: 1, mutations }];
    const thirds = [0, 1, 2].map((k) => ({
      timestamp: 1,
      mutations: mutations.slice((k * mutations.length) / 3, ((k + 1) * mutations.length) / 3),
    }));
    const alone = mutations.map((m) => ({ timestamp: 1, mutations: [m] }));
    // Commits differ in number, so compare what was written rather than the page hashes.
    const query = 'SELECT lsn, result FROM applied ORDER BY lsn';
    const [batched, split, single] = await Promise.all(
      [oneBatch, thirds, alone].map((batches) => runInNode(REDUCER, batches, undefined, query, limits)),
    );
    const swept = new Set(batched!.outcomes.filter((_, i) => i % 2 === 1));
    expect(swept.has('ok') && swept.size === 2, `the sweep crosses the limit: ${[...swept]}`).toBe(true);
    expect(split!.outcomes).toEqual(batched!.outcomes);
    expect(single!.outcomes).toEqual(batched!.outcomes);
    expect(split!.rows).toEqual(batched!.rows);
    expect(single!.rows).toEqual(batched!.rows);
  },
  120_000,
);

/**
 * Recursion whose frames hold many operands: `$wide` keeps WIDE values on the operand stack across its
 * self-call, `$narrow` a few. A mutation's payload is the depth (u16, little-endian) then 0 for wide,
 * 1 for narrow.
 */
const WIDE = 900;
function deepStackReducer(): string {
  let wide = '(call $wide (i32.sub (local.get $n) (i32.const 1)))';
  for (let k = 0; k < WIDE; k++) wide = `(i32.add (i32.load offset=${4 * k} (i32.const 0)) ${wide})`;
  return `(module
  (import "tandem:reducer/env@0.2.0" "enter" (func $enter (param i32)))
  (memory (export "memory") 1)
  (global $bump (mut i32) (i32.const 8192))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (local $p i32)
    (local.set $p (i32.and (i32.add (global.get $bump) (i32.const 7)) (i32.const -8)))
    (global.set $bump (i32.add (local.get $p) (local.get 3)))
    (local.get $p))
  (func (export "schema-version") (result i32) (i32.const 1))
  (func (export "migrate") (param i32) (result i32) (i32.store8 (i32.const 16) (i32.const 0)) (i32.const 16))
  (func $wide (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n)) (then (i32.const 0)) (else ${wide})))
  (func $narrow (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n)) (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $narrow (i32.sub (local.get $n) (i32.const 1)))))))
  (func (export "reduce") (param $list i32) (param $len i32) (result i32) (local $p i32) (local $depth i32)
    (call $enter (i32.const 0))
    (local.set $p (i32.load (i32.add (local.get $list) (i32.const 24))))
    (local.set $depth (i32.load16_u (local.get $p)))
    (if (i32.load8_u offset=2 (local.get $p))
      (then (drop (call $narrow (local.get $depth))))
      (else (drop (call $wide (local.get $depth)))))
    (call $enter (local.get $len))
    (i32.store8 (i32.const 4096) (i32.const 0))
    (i32.store (i32.const 32) (i32.const 4096))
    (i32.store (i32.const 36) (local.get $len))
    (i32.const 32)))`;
}

test('deep recursion stops at the stack meter with the same verdicts whatever the thread stack: Node at several --stack-size values, a Node worker, Chromium', async () => {
  const wit = await readFile(join(REPO_ROOT, 'reducer-sdk/wit/reducer.wit'), 'utf8');
  const embedded = await componentEmbed({
    binary: await parse(deepStackReducer()),
    witSource: wit,
    world: 'reducer',
  });
  const bytes = await componentNew(embedded);
  const reducer = join(scratch, 'deep-stack.wasm');
  await writeFile(reducer, bytes);
  const reducerUrl = await preparedReducerUrl(bytes);
  const depth = (n: number, narrow: boolean) => new Uint8Array([n & 0xff, n >> 8, narrow ? 1 : 0]);
  const wide = [1, 4, 8, 12, 14, 15, 16, 17, 20, 30, 50, 123, 500, 2_000].map((n) => depth(n, false));
  const narrow = [100, 1_000, 1_600, 1_700, 1_800, 2_000, 3_000, 10_000, 65_535].map((n) => depth(n, true));
  // One mutation a batch: each verdict run starts from the same host stack depth.
  const batches = [...wide, ...narrow].map((m, i) => ({ timestamp: i, mutations: [m] }));
  // One after another: the suite runs on two cores beside other browser tests.
  const runs: RunResult[] = [await runInNode(reducer, batches)];
  for (const options of [['--stack-size=500'], [], ['--stack-size=3900']]) {
    runs.push(await runInProcess(batches, reducer, options));
  }
  runs.push(await runInNodeWorker(batches, reducer));
  runs.push(await runInChromium(batches, reducerUrl));
  const [here] = runs;
  const verdicts = new Set(here!.outcomes);
  expect(verdicts).toEqual(new Set(['ok', LIMIT_REASONS.stack]));
  for (const kind of [wide, narrow]) {
    const of = here!.outcomes.slice(kind === wide ? 0 : wide.length).slice(0, kind.length);
    expect(of.indexOf(LIMIT_REASONS.stack), 'each kind gets deep enough to hit the meter').toBeGreaterThan(0);
  }
  for (const other of runs) expect(other).toEqual(here);
}, 180_000);
