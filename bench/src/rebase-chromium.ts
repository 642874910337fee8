// The rebase figure in Debian's Chromium: the page bench/rebase-page (built with vite) runs the same
// scenario in a dedicated worker with host-browser's document, against the prepared kv reducer a
// coordinator serves (GET /reducers/current), interleaved with its floor in the same worker.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLog, startCoordinator } from '@tandem/coordinator';
import { chromium, type Page } from 'playwright-core';
import { build } from 'vite';
import { QUIET, REPO_ROOT } from './browser-size.js';
import type { RebaseInput, RebaseReply } from './rebase-page-api.js';
import {
  basePuts,
  KEYS,
  KV_REDUCER,
  pendingValue,
  type RebaseScenario,
  rebaseLine,
} from './rebase-scenario.js';

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
const PAGE_ROOT = join(REPO_ROOT, 'bench/rebase-page');

const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/**
 * With BENCH_CPU_PROFILE=<file>: the scenario runs in the page (DevTools records a page's profile, not
 * its workers'), and the page's CPU profile goes to <file> (.cpuprofile, as `node --cpu-prof` writes).
 */
async function profiled(page: Page, file: string, input: RebaseInput): Promise<RebaseReply> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
  await cdp.send('Profiler.start');
  const reply = await page.evaluate((i) => window.rebaseBench.runInPage(i), input);
  const { profile } = await cdp.send('Profiler.stop');
  await writeFile(file, JSON.stringify(profile));
  return reply;
}

export async function inChromium(scenario: RebaseScenario, warmUp: number): Promise<string> {
  const temp = await mkdtemp(join(tmpdir(), 'tandem-bench-rebase-'));
  const staticDir = join(temp, 'static');
  await build({
    root: PAGE_ROOT,
    base: '/rebase/',
    configFile: false,
    logLevel: 'warn',
    resolve: { conditions: ['source', 'module', 'browser', 'development|production'] },
    worker: { format: 'es', rolldownOptions: { checks: QUIET } },
    build: {
      outDir: join(staticDir, 'rebase'),
      emptyOutDir: true,
      target: 'es2022',
      reportCompressedSize: false,
      // A profile names functions.
      minify: process.env.BENCH_CPU_PROFILE === undefined,
      rolldownOptions: { checks: QUIET },
    },
  });
  const coordinator = await startCoordinator({
    reducer: fileURLToPath(KV_REDUCER),
    dataDir: join(temp, 'data'),
    port: 0,
    workers: 1,
    staticDir,
    log: createLog({ level: 'warn' }),
  });
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${coordinator.url}/rebase/`);
    await page.waitForFunction(() => typeof window.rebaseBench === 'object');
    const current = (await (await fetch(`${coordinator.url}/reducers/current`)).json()) as { url: string };
    const input: RebaseInput = {
      reducerUrl: new URL(current.url, coordinator.url).href,
      journalId: scenario.journalId,
      baseMessages: scenario.baseMessages.map(base64),
      pending: scenario.pending,
      bursts: scenario.bursts.map(base64),
      basePuts: basePuts(),
      warmUp,
    };
    const profile = process.env.BENCH_CPU_PROFILE;
    const reply =
      profile === undefined
        ? await page.evaluate((i) => window.rebaseBench.run(i), input)
        : await profiled(page, profile, input);
    if ('error' in reply) throw new Error(`the Chromium rebase failed: ${reply.error}`);
    if (reply.k0 !== pendingValue(1000) || reply.rows !== KEYS + scenario.bursts.length) {
      throw new Error(
        `the rebased document in Chromium is not what the puts make (${String(reply.rows)} rows)`,
      );
    }
    if (pageErrors.length > 0) throw new Error(`page errors: ${pageErrors.join('; ')}`);
    return rebaseLine('chromium', reply.ours, reply.floor);
  } finally {
    await browser.close();
    await coordinator.close();
    await rm(temp, { recursive: true, force: true });
  }
}
