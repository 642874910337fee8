// The deterministic limits of DESIGN.md §4 across hosts: a mutation that runs forever, allocates
// without end, recurses without end or runs a runaway recursive CTE is rejected with its limit's reason, after the same
// work in Node and in Chromium (identical pages), and the mutations behind it still apply.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_LIMITS, LIMIT_REASONS } from '@tandem/runtime';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type {} from './determinism/page-api.js';
import { type RunResult, runInNode } from './determinism/run.js';
import { toJson, type WorkloadBatch, type WorkloadMutation } from './determinism/workload.js';
import { launchChromium } from './support/chromium.js';
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

async function runInProcess(batches: readonly WorkloadBatch[]): Promise<RunResult> {
  const file = join(scratch, `workload-${batches.length}-${Date.now()}.json`);
  await writeFile(file, JSON.stringify(toJson(batches)));
  const { stdout } = await run(process.execPath, [NODE_RUN, REDUCER, file]);
  return JSON.parse(stdout) as RunResult;
}

async function runInChromium(batches: readonly WorkloadBatch[]): Promise<RunResult> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(server.url);
    await page.waitForFunction(() => typeof window.runWorkload === 'function');
    const reply = await page.evaluate(([url, workload]) => window.runWorkload(url, workload), [
      server.fileUrl(REDUCER),
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
