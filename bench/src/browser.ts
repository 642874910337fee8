// The browser product in Debian's Chromium (issue 9, must-show 9), against a real coordinator serving
// the built pages and the prepared reducer (GET /reducers/current), documents in a temporary folder:
// 1. tab → mutate → subscription callback, p50/p99, interleaved round by round with its floor: a round
//    trip tab ↔ dedicated worker running the same UPDATE and SELECT in raw sqlite-wasm;
// 2. open of a persisted 10,000-todo document in a fresh page until its first query answers (a new
//    owner worker: sqlite-wasm, the reducer, the OPFS files), interleaved with its floor: a fresh page
//    whose new worker only loads sqlite-wasm and answers a query on an empty in-memory database;
// 3. what the demo app ships, gzipped: Tandem's own JS, other JS, sqlite3.wasm, the reducer apart.
// Medians over rounds; the profile is a persistent one (OPFS on disk, as a user's browser keeps it).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLog, startCoordinator } from '@tandem/coordinator';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { build } from 'vite';
import type { OpenTiming, SubscriptionShape } from './browser-page-api.js';
import {
  APP,
  type AppSizes,
  BUNDLER,
  buildApp,
  measureApp,
  QUIET,
  REPO_ROOT,
  type Size,
  sizeOf,
  TANDEM,
  tandemDependencies,
} from './browser-size.js';
import { median, report } from './report.js';

const CHROMIUM_PATH = process.env.TANDEM_CHROMIUM ?? '/usr/bin/chromium';
/** The flags e2e/src/support/chromium.ts launches with. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const TODO_REDUCER = join(REPO_ROOT, 'reducers/todo/dist/reducer.wasm');
const PAGE_ROOT = join(REPO_ROOT, 'bench/browser-page');
const ROUNDS = Math.max(5, Number(process.env.BENCH_RUNS ?? 5));
/** Callback samples per round and shape (after a warm-up). */
const SAMPLES = 200;
const WARM_UP = 50;
const CALLBACK_TODOS = 1000;
const OPEN_TODOS = 10_000;
const GOAL_CALLBACK_P50_MS = 1;
const GOAL_TANDEM_JS_GZ = 60 * 1024;
const SQLITE_PACKAGE = '@sqlite.org/sqlite-wasm';
/** Lets the closed page's owner worker let go of the document's OPFS files before the next open. */
const SETTLE_MS = 400;

const percentile = (values: readonly number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const kb = (bytes: number) => bytes / 1024;

const temp = await mkdtemp(join(tmpdir(), 'tandem-bench-browser-'));
const staticDir = join(temp, 'static');
const buildStarted = performance.now();
// The app at `/` (as `npm start` serves it), the bench page at `/bench/`.
await buildApp(staticDir);
await build({
  root: PAGE_ROOT,
  base: '/bench/',
  configFile: false,
  logLevel: 'warn',
  resolve: { conditions: ['source', 'module', 'browser', 'development|production'] },
  worker: { format: 'es', rolldownOptions: { checks: QUIET } },
  build: {
    outDir: join(staticDir, 'bench'),
    emptyOutDir: true,
    target: 'es2022',
    reportCompressedSize: false,
    rolldownOptions: { checks: QUIET },
  },
});
const buildSeconds = (performance.now() - buildStarted) / 1000;

const coordinator = await startCoordinator({
  reducer: TODO_REDUCER,
  dataDir: join(temp, 'data'),
  port: 0,
  workers: 1,
  staticDir,
  log: createLog({ level: 'warn' }),
});
const context: BrowserContext = await chromium.launchPersistentContext(join(temp, 'profile'), {
  executablePath: CHROMIUM_PATH,
  args: CHROMIUM_ARGS,
});
const pageErrors: string[] = [];

async function benchPage(): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(`${coordinator.url}/bench/`);
  await page.waitForFunction(() => typeof window.benchPage === 'object');
  return page;
}

async function closePage(page: Page): Promise<void> {
  await page.close();
  await sleep(SETTLE_MS);
}

try {
  const phases: string[] = [`builds ${buildSeconds.toFixed(0)} s`];
  const timed = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const result = await run();
    phases.push(`${name} ${((performance.now() - started) / 1000).toFixed(0)} s`);
    return result;
  };
  const sizes = await timed('sizes', measureShipped);
  await timed('callbacks', callbackRounds);
  await timed('opens', openRounds);
  reportSizes(sizes);
  if (pageErrors.length > 0) console.log(`page errors: ${pageErrors.join('; ')}`);
  console.log(`(browser bench: ${phases.join(', ')}; ${ROUNDS} rounds)`);
} finally {
  await context.close();
  await coordinator.close();
  await rm(temp, { recursive: true, force: true });
}

/** Runs the app until its document synced, noting every file the browser (and its workers) fetched. */
interface Shipped {
  readonly app: AppSizes;
  readonly reducer: Size;
  /** The npm packages Tandem depends on. */
  readonly brought: ReadonlySet<string>;
}

async function measureShipped(): Promise<Shipped> {
  const fetched = new Set<string>();
  const note = (url: string) => {
    const parsed = new URL(url);
    if (parsed.origin === coordinator.url) fetched.add(parsed.pathname);
  };
  context.on('request', (request) => note(request.url()));
  const page = await context.newPage();
  page.on('worker', (worker) => note(worker.url()));
  await page.goto(`${coordinator.url}/?doc=sizes`);
  await page
    .getByTestId('sync-status')
    .filter({ hasText: /^synced/ })
    .waitFor({ timeout: 30_000 });
  await closePage(page);
  const current = (await (await fetch(`${coordinator.url}/reducers/current`)).json()) as { url: string };
  const reducer = sizeOf(
    new Uint8Array(await (await fetch(`${coordinator.url}${current.url}`)).arrayBuffer()),
  );
  const app = await measureApp(staticDir, fetched, ['bench']);
  return { app, reducer, brought: await tandemDependencies() };
}

/** Who answers a callback sample: the app's document, the same in memory and local, or the floor. */
type Side = 'tandem' | 'tandem in memory, local' | 'floor';

async function callbackRounds(): Promise<void> {
  const app = await benchPage();
  const opened = await app.evaluate((docId) => window.benchPage.open(docId), 'callbacks');
  await app.evaluate((n) => window.benchPage.fill(n), CALLBACK_TODOS);
  await app.evaluate((n) => window.benchPage.floorStart(n), CALLBACK_TODOS);
  // What persistence and sync add: the same document in memory, without a coordinator (its own page).
  const bare = await benchPage();
  const variant = { persist: false, sync: false };
  await bare.evaluate(([docId, v]) => window.benchPage.open(docId, v), ['callbacks-bare', variant] as const);
  await bare.evaluate((n) => window.benchPage.fill(n), CALLBACK_TODOS);
  const samples: readonly [Side, SubscriptionShape][] = [
    ['tandem', 'one'],
    ['tandem in memory, local', 'one'],
    ['floor', 'one'],
    ['tandem', 'list'],
    ['floor', 'list'],
  ];
  const run = (side: Side, shape: SubscriptionShape, count: number) =>
    (side === 'tandem in memory, local' ? bare : app).evaluate(
      ([floor, shape, count, todos]) =>
        floor
          ? window.benchPage.floorTimes(shape, count, todos)
          : window.benchPage.callbackTimes(shape, count, todos),
      [side === 'floor', shape, count, CALLBACK_TODOS] as const,
    );
  for (const [side, shape] of samples) await run(side, shape, WARM_UP);
  const rounds = new Map<string, { p50: number[]; p99: number[] }>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const [side, shape] of samples) {
      const times = await run(side, shape, SAMPLES);
      const kept = rounds.get(`${side} ${shape}`) ?? { p50: [], p99: [] };
      kept.p50.push(percentile(times, 0.5));
      kept.p99.push(percentile(times, 0.99));
      rounds.set(`${side} ${shape}`, kept);
    }
  }
  for (const page of [app, bare]) {
    await page.evaluate(() => window.benchPage.close());
    await closePage(page);
  }

  const where = opened.persisted ? 'persisted in OPFS' : `IN MEMORY: ${opened.warning ?? '?'}`;
  const label = { one: '1 todo', list: `${CALLBACK_TODOS}-row list` } as const;
  const of = (side: Side, shape: SubscriptionShape, q: 'p50' | 'p99') =>
    median(rounds.get(`${side} ${shape}`)?.[q] ?? []);
  for (const shape of ['one', 'list'] as const) {
    for (const q of ['p50', 'p99'] as const) {
      const tandem = of('tandem', shape, q);
      const floor = of('floor', shape, q);
      const goal =
        shape === 'one' && q === 'p50'
          ? `; goal ≤ ${GOAL_CALLBACK_P50_MS} ms: ${tandem <= GOAL_CALLBACK_P50_MS ? 'met' : 'NOT met'}`
          : '';
      const figure = `browser: mutate→callback ${q}, ${label[shape]}`;
      report(
        `${figure} (Tandem)`,
        tandem,
        'ms',
        `median of ${ROUNDS} rounds × ${SAMPLES}, ${CALLBACK_TODOS} todos, ${where}, syncing${goal}`,
      );
      if (shape === 'one') {
        report(
          `${figure} (Tandem bare)`,
          of('tandem in memory, local', shape, q),
          'ms',
          'Tandem in memory (no OPFS), no coordinator',
        );
      }
      report(`${figure} (floor)`, floor, 'ms', 'tab ↔ worker, raw sqlite-wasm UPDATE + SELECT, in memory');
      report(`${figure}, Tandem/floor`, tandem / floor, '×');
    }
  }
}

async function openRounds(): Promise<void> {
  const docId = 'open-10k';
  const filler = await benchPage();
  await filler.evaluate((id) => window.benchPage.open(id), docId);
  await filler.evaluate((n) => window.benchPage.fill(n), OPEN_TODOS);
  await filler.evaluate(() => window.benchPage.close());
  await closePage(filler);

  const tandem: OpenTiming[] = [];
  const floor: number[] = [];
  // Round 0 is the warm-up: the first compile of each wasm module (no code cache yet); reported apart.
  for (let round = 0; round <= ROUNDS; round++) {
    const page = await benchPage();
    tandem.push(await page.evaluate((id) => window.benchPage.openTimed(id), docId));
    await closePage(page);
    const floorPage = await benchPage();
    floor.push(await floorPage.evaluate(() => window.benchPage.floorOpenTimed()));
    await closePage(floorPage);
  }
  const [first, ...kept] = tandem;
  const [, ...floorKept] = floor;
  for (const timing of tandem) {
    if (timing.rows !== OPEN_TODOS || !timing.persisted) {
      throw new Error(`open answered ${timing.rows} rows, persisted ${timing.persisted} (${timing.warning})`);
    }
  }
  const query = median(kept.map((t) => t.firstQueryMs));
  const floorMs = median(floorKept);
  const figure = `browser: open ${OPEN_TODOS / 1000}k todos → first query`;
  report(
    `${figure} (Tandem)`,
    query,
    'ms',
    `median of ${ROUNDS} fresh pages, persisted; openDocument alone ${median(kept.map((t) => t.openMs)).toFixed(0)} ms, ` +
      `from navigation ${median(kept.map((t) => t.sinceNavigationMs)).toFixed(0)} ms; first open ever ${first?.firstQueryMs.toFixed(0)} ms`,
  );
  report(
    `${figure} (floor)`,
    floorMs,
    'ms',
    'new worker, sqlite-wasm loaded, a query on an empty in-memory db',
  );
  report(`${figure}, Tandem/floor`, query / floorMs, '×');
}

function reportSizes({ app, reducer, brought }: Shipped): void {
  const zero: Size = { bytes: 0, gzip: 0 };
  const sum = (origins: readonly string[]) =>
    origins.reduce((total, origin) => {
      const size = app.js.get(origin) ?? zero;
      return { bytes: total.bytes + size.bytes, gzip: total.gzip + size.gzip };
    }, zero);
  const named = (origins: readonly string[]) =>
    origins
      .map((origin) => [origin, app.js.get(origin)?.gzip ?? 0] as const)
      .sort(([, a], [, b]) => b - a)
      .map(([origin, gzip]) => `${origin} ${kb(gzip).toFixed(1)}`)
      .join(', ');
  const packages = [...app.js.keys()].filter(
    (origin) => origin !== TANDEM && origin !== APP && origin !== BUNDLER,
  );
  const tandemBrings = packages.filter((origin) => brought.has(origin) && origin !== SQLITE_PACKAGE);
  const appBrings = packages.filter((origin) => !brought.has(origin));
  const tandem = sum([TANDEM]);
  const met = Math.max(tandem.gzip, app.tandemAlone) <= GOAL_TANDEM_JS_GZ ? 'met' : 'NOT met';
  const jsFiles = app.fetched.filter((f) => f.file.endsWith('.js')).length;
  const prefix = 'browser: app gz,';
  report(
    `${prefix} Tandem's own JS`,
    kb(tandem.gzip),
    'KB',
    `its share of the ${jsFiles} JS files fetched; gzipped alone ${kb(app.tandemAlone).toFixed(1)} KB; ` +
      `${kb(tandem.bytes).toFixed(1)} KB raw; goal ≤ ${kb(GOAL_TANDEM_JS_GZ)} KB: ${met}`,
  );
  report(`${prefix} npm JS Tandem brings`, kb(sum(tandemBrings).gzip), 'KB', named(tandemBrings));
  report(`${prefix} sqlite-wasm's JS`, kb(sum([SQLITE_PACKAGE]).gzip), 'KB', 'the owner worker loads it');
  report(`${prefix} npm JS the app brings`, kb(sum(appBrings).gzip), 'KB', named(appBrings));
  report(`${prefix} the app's own JS + bundler glue`, kb(sum([APP, BUNDLER]).gzip), 'KB');
  report(
    `${prefix} sqlite3.wasm`,
    kb(app.sqliteWasm.gzip),
    'KB',
    `${kb(app.sqliteWasm.bytes).toFixed(0)} KB raw`,
  );
  report(
    `${prefix} the prepared reducer`,
    kb(reducer.gzip),
    'KB',
    `${kb(reducer.bytes).toFixed(0)} KB raw, fetched from /reducers/<sha256>.wasm`,
  );
  report(
    'browser: app, files holding binaryen',
    app.binaryen.length,
    'files',
    app.binaryen.length === 0 ? `none of ${app.files.length} emitted files` : app.binaryen.join(', '),
  );
  if (app.unfetchedJs.bytes > 0) {
    report(
      'browser: app gz, JS emitted, never fetched',
      kb(app.unfetchedJs.gzip),
      'KB',
      "sqlite-wasm's own workers, which vite emits and Tandem never starts",
    );
  }
}
