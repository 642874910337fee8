// Boot to first query answer in Debian's Chromium (issue 10, must-show 4): a fresh page opens a
// document persisted in OPFS through host-browser's tab API, as the demo app does (host-browser imported
// at the page's start, the broker, the owner's dedicated worker, sqlite-wasm, the prepared reducer from
// the coordinator, the OPFS files), and times it to the answer of `SELECT count(*)`; interleaved with
// it, the floor: a fresh page (nothing of Tandem) whose new worker loads raw sqlite-wasm, reads a SQLite
// file of the same rows from OPFS and answers the same query. Both are timed from their page's
// navigation start, so what host-browser starts at import, before the app opens anything, counts.
// Each round also times the floor of any design that answers from a worker: a new page whose new
// one-line worker answers a message (OPFS's synchronous files, which SQLite needs, exist only in workers).
// Cases as in Node (boot.ts): empty, 20,000 pending never synced, 10,000 synced (opened syncing with
// the coordinator). The first round is the warm-up (HTTP and code caches cold) and is reported apart:
// then every page is new, but the browser's caches are warm, as for a returning user.
// The page is built and served as the demo app is (base `/`, so its files are under `/assets/`, which
// the coordinator serves as immutable: a returning user's browser takes them from its cache unasked).
// Everything in a page is per page: its workers, sqlite-wasm's instance, the compiled reducer.
// `BENCH_BASELINE=<checkout>` (e.g. /work/main) also builds the same page against that checkout's
// host-browser and runs it interleaved, served by a second coordinator (its own origin, so its own OPFS).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLog, startCoordinator } from '@tandem/coordinator';
import { chromium, type Page } from 'playwright-core';
import { build } from 'vite';
import type { BootTiming, FloorTiming, WorkerFloorTiming } from './boot-page-api.js';
import { QUIET, REPO_ROOT } from './browser-size.js';
import { median } from './report.js';

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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const BASELINE = process.env.BENCH_BASELINE;

const temp = await mkdtemp(join(tmpdir(), 'tandem-bench-boot-chromium-'));

/** The boot pages built into `outDir`, against `hostBrowser` (a checkout's host-browser sources) when given. */
async function buildPages(outDir: string, hostBrowser?: string): Promise<void> {
  await build({
    root: PAGE_ROOT,
    base: '/',
    configFile: false,
    logLevel: 'warn',
    resolve: {
      conditions: ['source', 'module', 'browser', 'development|production'],
      ...(hostBrowser !== undefined && { alias: { '@tandem/host-browser': hostBrowser } }),
    },
    worker: { format: 'es', rolldownOptions: { checks: QUIET } },
    build: {
      outDir,
      emptyOutDir: true,
      target: 'es2022',
      reportCompressedSize: false,
      // With two pages vite puts its modulepreload polyfill (of no use in Chromium) in a chunk of its
      // own, one more request before either page's script runs; an app of one page has it inline.
      modulePreload: { polyfill: false },
      rolldownOptions: {
        checks: QUIET,
        input: { main: join(PAGE_ROOT, 'index.html'), floor: join(PAGE_ROOT, 'floor.html') },
      },
    },
  });
}

/** A build of the pages and the coordinator serving it (its own origin: its own OPFS). */
interface Site {
  readonly label: string;
  readonly url: string;
  close(): Promise<void>;
}

async function startSite(label: string, hostBrowser?: string): Promise<Site> {
  const staticDir = join(temp, label, 'static');
  await buildPages(staticDir, hostBrowser);
  const coordinator = await startCoordinator({
    reducer: TODO_REDUCER,
    dataDir: join(temp, label, 'data'),
    port: 0,
    workers: 1,
    staticDir,
    log: createLog({ level: 'warn' }),
  });
  return { label, url: coordinator.url, close: () => coordinator.close() };
}

const sites = [await startSite('new')];
if (BASELINE !== undefined) sites.push(await startSite('old', join(BASELINE, 'host-browser/src/index.ts')));
const [site] = sites as [Site, ...Site[]];
const context = await chromium.launchPersistentContext(join(temp, 'profile'), {
  executablePath: CHROMIUM_PATH,
  args: CHROMIUM_ARGS,
});
const pageErrors: string[] = [];

/** Runs `fn` in a fresh page at `url`, then closes it and lets its workers go. */
async function inPage<T>(url: string, fn: (page: Page) => Promise<T>): Promise<T> {
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  try {
    await page.goto(url);
    return await fn(page);
  } finally {
    await page.close();
    await sleep(SETTLE_MS);
  }
}

/** The timed boot a page's URL asks for, run as it loads. */
const bootRun = <T extends BootTiming | FloorTiming | WorkerFloorTiming>(url: string) =>
  inPage(url, (page) => page.evaluate(() => window.bootRun) as Promise<T | undefined>).then((timing) => {
    if (timing === undefined) throw new Error(`${url} ran no boot`);
    return timing;
  });

try {
  for (const c of CASES) {
    for (const { url } of sites) {
      await inPage(`${url}/`, (page) =>
        page.evaluate(([docId, rows, sync]) => window.bootPage.fill(docId, rows, sync), [
          c.docId,
          c.rows,
          c.sync,
        ] as const),
      );
    }
    await inPage(`${site.url}/floor.html`, (page) =>
      page.evaluate(([name, rows]) => window.floorPage.write(name, rows), [c.docId, c.rows] as const),
    );
  }
  const ours = new Map<string, BootTiming[]>();
  const floor = new Map<string, FloorTiming[]>();
  const add = <T>(map: Map<string, T[]>, key: string, value: T) =>
    map.set(key, [...(map.get(key) ?? []), value]);
  const workerFloor: WorkerFloorTiming[] = [];
  for (let round = 0; round <= ROUNDS; round++) {
    workerFloor.push(await bootRun<WorkerFloorTiming>(`${site.url}/floor.html?worker`));
    for (const c of CASES) {
      const runs = [
        ...sites.map(({ label, url }) => async () => {
          const timing = await bootRun<BootTiming>(`${url}/?open=${c.docId}${c.sync ? '&sync' : ''}`);
          if (timing.rows !== c.rows || !timing.persisted) {
            throw new Error(
              `${c.name} (${label}): ${timing.rows} rows, persisted ${timing.persisted} (${timing.warning})`,
            );
          }
          add(ours, `${label} ${c.name}`, timing);
        }),
        async () => {
          const base = await bootRun<FloorTiming>(`${site.url}/floor.html?open=${c.docId}`);
          if (base.rows !== c.rows) throw new Error(`floor ${c.name}: ${base.rows} rows`);
          add(floor, c.name, base);
        },
      ];
      // Each side goes first in turn: whatever the page before leaves behind falls on each alike.
      for (let k = 0; k < runs.length; k++) await runs[(round + k) % runs.length]?.();
    }
  }
  console.log(
    `# boot to first query answer, Chromium (${CHROMIUM_PATH}): a fresh page each, from its navigation start, median of ${ROUNDS} after a warm-up round`,
  );
  const bareWorker = workerFloor.slice(1);
  console.log(
    `boot floor of any worker (chromium): a new page's new one-line worker answers ${median(bareWorker.map((t) => t.sinceNavigationMs)).toFixed(0)} ms from navigation (the page's script runs at ${median(bareWorker.map((t) => t.scriptMs)).toFixed(0)} ms)`,
  );
  for (const c of CASES) {
    const [firstFloor, ...base] = floor.get(c.name) ?? [];
    const y = median(base.map((t) => t.sinceNavigationMs));
    for (const { label } of sites) {
      const [first, ...mine] = ours.get(`${label} ${c.name}`) ?? [];
      const x = median(mine.map((t) => t.sinceNavigationMs));
      const build = label === 'new' ? '' : ` [${label} build: ${BASELINE}]`;
      console.log(
        `boot ${c.name} (chromium)${build}: ours ${x.toFixed(0)} ms, floor ${y.toFixed(0)} ms, ratio ${(x / y).toFixed(2)} (goal ${c.goalMs} ms)`,
      );
      console.log(
        `  ours: openDocument → answer ${median(mine.map((t) => t.firstQueryMs)).toFixed(0)} ms (openDocument ${median(mine.map((t) => t.openMs)).toFixed(0)}); floor: script at ${median(base.map((t) => t.scriptMs)).toFixed(0)} ms, worker → answer ${median(base.map((t) => t.workerMs)).toFixed(0)} ms; first page ever ${first?.sinceNavigationMs.toFixed(0)} ms (floor ${firstFloor?.sinceNavigationMs.toFixed(0)} ms)`,
      );
    }
    if (sites.length > 1) {
      const [now = [], old = []] = sites.map(({ label }) =>
        (ours.get(`${label} ${c.name}`) ?? []).slice(1).map((t) => t.sinceNavigationMs),
      );
      // Paired by round as well: both builds of a round ran side by side, at the same load.
      const paired = now.map((x, k) => x / (old[k] ?? Number.NaN));
      console.log(
        `  new / old build: ${(median(now) / median(old)).toFixed(2)} (median of the rounds' ratios ${median(paired).toFixed(2)}, ${paired.filter((r) => r < 1).length} of ${paired.length} rounds faster)`,
      );
    }
  }
  if (pageErrors.length > 0) console.log(`page errors: ${pageErrors.join('; ')}`);
} finally {
  await context.close();
  for (const { close } of sites) await close();
  await rm(temp, { recursive: true, force: true });
}
