// Boot to first query answer in Debian's Chromium (issue 10, must-show 4): a fresh page opens a
// document persisted in OPFS through host-browser's tab API, as the demo app does (the broker, the
// owner's dedicated worker, sqlite-wasm, the prepared reducer from the coordinator, the OPFS files),
// and times openDocument → the answer of `SELECT count(*)`; interleaved with it, the floor: a fresh
// page whose new worker loads raw sqlite-wasm, reads a SQLite file of the same rows from OPFS and
// answers the same query. Cases as in Node (boot.ts): empty, 20,000 pending never synced, 10,000 synced
// (opened syncing with the coordinator). The first round is the warm-up (HTTP and code caches cold) and
// is reported apart: then every page is new, but the browser's caches are warm, as for a returning user.
// The page is built and served as the demo app is (base `/`, so its files are under `/assets/`, which
// the coordinator serves as immutable: a returning user's browser takes them from its cache unasked).
// Everything in a page is per page: its workers, sqlite-wasm's instance, the compiled reducer.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLog, startCoordinator } from '@tandem/coordinator';
import { chromium, type Page } from 'playwright-core';
import { build } from 'vite';
import type { BootTiming } from './boot-page-api.js';
import { QUIET, REPO_ROOT } from './browser-size.js';

const CHROMIUM_PATH = process.env.TANDEM_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const ROUNDS = Math.max(5, Number(process.env.BENCH_RUNS ?? 7));
const TODO_REDUCER = join(REPO_ROOT, 'reducers/todo/dist/reducer.wasm');
const PAGE_ROOT = join(REPO_ROOT, 'bench/boot-page');
/** Lets a closed page's owner worker let go of the document's OPFS files before the next open. */
const SETTLE_MS = 300;

interface Case {
  readonly name: string;
  readonly docId: string;
  readonly rows: number;
  readonly goalMs: number;
  readonly sync: boolean;
}

/** `BENCH_CASES=empty,synced` runs those alone (by docId). */
const ONLY = process.env.BENCH_CASES?.split(',');
const CASES: readonly Case[] = [
  { name: 'empty', docId: 'empty', rows: 0, goalMs: 100, sync: false },
  { name: 'pending 20k', docId: 'pending', rows: 20_000, goalMs: 300, sync: false },
  { name: 'synced 10k', docId: 'synced', rows: 10_000, goalMs: 150, sync: true },
].filter((c) => ONLY === undefined || ONLY.includes(c.docId));

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const temp = await mkdtemp(join(tmpdir(), 'tandem-bench-boot-chromium-'));
const staticDir = join(temp, 'static');
await build({
  root: PAGE_ROOT,
  base: '/',
  configFile: false,
  logLevel: 'warn',
  resolve: { conditions: ['source', 'module', 'browser', 'development|production'] },
  worker: { format: 'es', rolldownOptions: { checks: QUIET } },
  build: {
    outDir: staticDir,
    emptyOutDir: true,
    target: 'es2022',
    reportCompressedSize: false,
    rolldownOptions: { checks: QUIET },
  },
});
const coordinator = await startCoordinator({
  reducer: TODO_REDUCER,
  dataDir: join(temp, 'data'),
  port: 0,
  workers: 1,
  staticDir,
  log: createLog({ level: 'warn' }),
});
const context = await chromium.launchPersistentContext(join(temp, 'profile'), {
  executablePath: CHROMIUM_PATH,
  args: CHROMIUM_ARGS,
});
const pageErrors: string[] = [];

async function bootPage(): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(`${coordinator.url}/`);
  await page.waitForFunction(() => typeof window.bootPage === 'object');
  return page;
}

/** Runs `fn` in a fresh page, then closes it and lets its workers go. */
async function inPage<T>(fn: (page: Page) => Promise<T>): Promise<T> {
  const page = await bootPage();
  try {
    return await fn(page);
  } finally {
    await page.close();
    await sleep(SETTLE_MS);
  }
}

try {
  for (const c of CASES) {
    await inPage((page) =>
      page.evaluate(([docId, rows, sync]) => window.bootPage.fill(docId, rows, sync), [
        c.docId,
        c.rows,
        c.sync,
      ] as const),
    );
    await inPage((page) =>
      page.evaluate(([name, rows]) => window.bootPage.floorWrite(name, rows), [c.docId, c.rows] as const),
    );
  }
  const ours = new Map<string, BootTiming[]>();
  const floor = new Map<string, number[]>();
  for (let round = 0; round <= ROUNDS; round++) {
    for (const c of CASES) {
      const timing = await inPage((page) =>
        page.evaluate(([docId, sync]) => window.bootPage.openTimed(docId, sync), [c.docId, c.sync] as const),
      );
      if (timing.rows !== c.rows || !timing.persisted) {
        throw new Error(`${c.name}: ${timing.rows} rows, persisted ${timing.persisted} (${timing.warning})`);
      }
      const base = await inPage((page) =>
        page.evaluate((name) => window.bootPage.floorOpenTimed(name), c.docId),
      );
      if (base.rows !== c.rows) throw new Error(`floor ${c.name}: ${base.rows} rows`);
      ours.set(c.name, [...(ours.get(c.name) ?? []), timing]);
      floor.set(c.name, [...(floor.get(c.name) ?? []), base.ms]);
    }
  }
  console.log(
    `# boot to first query answer, Chromium (${CHROMIUM_PATH}): a fresh page each, median of ${ROUNDS} after a warm-up round`,
  );
  for (const c of CASES) {
    const [first, ...mine] = ours.get(c.name) ?? [];
    const [firstFloor, ...base] = floor.get(c.name) ?? [];
    const x = median(mine.map((t) => t.firstQueryMs));
    const y = median(base);
    console.log(
      `boot ${c.name} (chromium): ours ${x.toFixed(0)} ms, floor ${y.toFixed(0)} ms, ratio ${(x / y).toFixed(2)} (goal ${c.goalMs} ms)`,
    );
    console.log(
      `  ours: openDocument ${median(mine.map((t) => t.openMs)).toFixed(0)} ms of it; first page ever ${first?.firstQueryMs.toFixed(0)} ms (floor ${firstFloor?.toFixed(0)} ms)`,
    );
  }
  if (pageErrors.length > 0) console.log(`page errors: ${pageErrors.join('; ')}`);
} finally {
  await context.close();
  await coordinator.close();
  await rm(temp, { recursive: true, force: true });
}
