import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type {} from './determinism/page-api.js';
import { type RunResult, runInNode } from './determinism/run.js';
import { entropyWorkload, todoWorkload, toJson, type WorkloadBatch } from './determinism/workload.js';
import { launchChromium } from './support/chromium.js';
import { preparedReducerUrl } from './support/prepared-reducer.js';
import { type FixtureServer, REPO_ROOT, serveFixture } from './support/vite-server.js';

const run = promisify(execFile);
const NODE_RUN = join(REPO_ROOT, 'e2e/dist/determinism/node-run.js');
const SEED = Number(process.env.DETERMINISM_SEED ?? 7);

let browser: Browser;
let server: FixtureServer;
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'tandem-determinism-'));
  server = await serveFixture(join(REPO_ROOT, 'e2e/fixtures/determinism-page'));
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await rm(scratch, { recursive: true, force: true });
});

async function runInProcess(reducer: string, batches: readonly WorkloadBatch[]): Promise<RunResult> {
  const file = join(scratch, `workload-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(file, JSON.stringify(toJson(batches)));
  const { stdout } = await run(process.execPath, [NODE_RUN, reducer, file]);
  return JSON.parse(stdout) as RunResult;
}

async function runInChromium(reducer: string, batches: readonly WorkloadBatch[]): Promise<RunResult> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(server.url);
    await page.waitForFunction(() => typeof window.runWorkload === 'function');
    // The component prepared as a coordinator would: Chromium runs no instrumenter.
    const reply = await page.evaluate(([url, workload]) => window.runWorkload(url, workload), [
      await preparedReducerUrl(reducer),
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

const cases = [
  {
    name: 'todo',
    reducer: join(REPO_ROOT, 'reducers/todo/dist/reducer.wasm'),
    batches: todoWorkload(SEED, 40),
  },
  {
    name: 'entropy (SQL random(), datetime(now), Math.random)',
    reducer: join(REPO_ROOT, 'e2e/fixtures/entropy-reducer/dist/reducer.wasm'),
    batches: entropyWorkload(SEED, 20),
  },
];

test.each(cases)(
  `the $name workload (seed ${SEED}) gives the same pages in two Node processes and in a Chromium worker`,
  async ({ reducer, batches }) => {
    const [here, first, second, chromium] = await Promise.all([
      runInNode(reducer, batches),
      runInProcess(reducer, batches),
      runInProcess(reducer, batches),
      runInChromium(reducer, batches),
    ]);
    expect(here.outcomes.filter((o) => o === 'ok').length).toBeGreaterThan(0);
    expect(first).toEqual(here);
    expect(second).toEqual(here);
    expect(chromium).toEqual(here);
  },
  120_000,
);

test.each(cases)(
  'the $name workload split into batches of one gives the pages it gives batched, in Node and in a Chromium worker',
  async ({ reducer, batches }) => {
    // Pages are canonical (capture-vfs.ts invariant 3): how the mutations were batched leaves no trace.
    const alone = batches.flatMap((b) =>
      b.mutations.map((m) => ({ timestamp: b.timestamp, mutations: [m] })),
    );
    const [batched, oneByOne, chromium] = await Promise.all([
      runInNode(reducer, batches),
      runInNode(reducer, alone),
      runInChromium(reducer, alone),
    ]);
    expect(oneByOne).toEqual(batched);
    expect(chromium).toEqual(batched);
  },
  120_000,
);

test("the entropy reducer's pages depend on the envelope: another timeline or timestamps give other pages", async () => {
  const { reducer, batches } = cases[1]!;
  const base = await runInNode(reducer, batches);
  const otherTimeline = await runInNode(reducer, batches, 'another-timeline');
  const shifted = batches.map((b) => ({ ...b, timestamp: b.timestamp + 1000 }));
  const otherClock = await runInNode(reducer, shifted);
  expect(otherTimeline.outcomes).toEqual(base.outcomes);
  expect(otherTimeline.hash).not.toBe(base.hash);
  expect(otherClock.hash).not.toBe(base.hash);
});

test('a mutation draws the same time and randomness whether it was reduced in a batch or alone', async () => {
  const { reducer, batches } = cases[1]!;
  const query = `SELECT d.*, (SELECT group_concat(rowid) FROM rowid_probe) AS probe_rowids FROM draws d ORDER BY lsn`;
  const alone = batches.flatMap((b) => b.mutations.map((m) => ({ timestamp: b.timestamp, mutations: [m] })));
  const batched = await runInNode(reducer, batches, undefined, query);
  const oneByOne = await runInNode(reducer, alone, undefined, query);
  expect(batched.rows?.length).toBeGreaterThan(20);
  expect(oneByOne.outcomes).toEqual(batched.outcomes);
  expect(oneByOne.rows).toEqual(batched.rows);
});
