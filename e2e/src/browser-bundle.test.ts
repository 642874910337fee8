// The browser gets no compiler: an app built with vite on @tandem/host-browser ships no binaryen, and
// runs the reducer the coordinator prepared (metered) and serves by hash, the very bytes the
// coordinator's workers run. Also reports what the app ships, gzipped (support/bundle-size.ts).
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Coordinator, startCoordinator } from '@tandem/coordinator';
import { openDocument } from '@tandem/host-node';
import { METER_VERSION, readPrepared } from '@tandem/runtime';
import { prepareReducer } from '@tandem/runtime/prepare';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type {} from './bundle-page-api.js';
import { type BundleReport, buildAndMeasure, formatBundleReport } from './support/bundle-size.js';
import { launchChromium } from './support/chromium.js';
import { REPO_ROOT } from './support/vite-server.js';

const TODO = join(REPO_ROOT, 'reducers/todo/dist/reducer.wasm');
/** Names only binaryen.js has: its C API as Emscripten exports them (they survive minification). */
const BINARYEN_SIGNATURES = ['BinaryenModuleCreate', 'BinaryenModuleAllocateAndWrite'];

let outDir: string;
let report: BundleReport;
let component: Uint8Array;
let prepared: Uint8Array;
let coordinator: Coordinator;
let browser: Browser;

beforeAll(async () => {
  outDir = await mkdtemp(join(tmpdir(), 'tandem-bundle-'));
  component = new Uint8Array(await readFile(TODO));
  prepared = await prepareReducer(component);
  report = await buildAndMeasure({
    root: join(REPO_ROOT, 'e2e/fixtures/bundle-page'),
    outDir: join(outDir, 'app'),
    reducer: prepared,
  });
  console.log(`what the bundle page ships:\n${formatBundleReport(report)}`);
  // Beside the app, for the refusals: the component itself, and a reducer of another meter version.
  await writeFile(join(outDir, 'app', 'component.wasm'), component);
  const other = prepared.slice();
  const at = meterVersionOffset(prepared);
  other[at] = METER_VERSION + 1;
  await writeFile(join(outDir, 'app', 'other-meter.wasm'), other);
  coordinator = await startCoordinator({
    reducer: component,
    port: 0,
    workers: 1,
    staticDir: join(outDir, 'app'),
  });
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await coordinator?.close();
  await rm(outDir, { recursive: true, force: true });
});

/** Where the meter version sits in a prepared reducer's header (prepared.ts: format, then version). */
function meterVersionOffset(bytes: Uint8Array): number {
  const name = new TextEncoder().encode('tandem:prepared');
  // preamble (8), section id (1), section size (1 byte for a header this small), name length (1), name.
  const at = 8 + 1 + 1 + 1 + name.length + 1;
  expect(bytes[at]).toBe(METER_VERSION);
  expect(readPrepared(bytes).header.meterVersion).toBe(METER_VERSION);
  return at;
}

async function openPage(): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(coordinator.url);
  await page.waitForFunction(() => typeof window.bundlePage === 'object');
  return { page, errors };
}

test('no file of the built app holds binaryen', async () => {
  const binaryen = await readFile(createRequire(import.meta.url).resolve('binaryen'), 'utf8');
  for (const signature of BINARYEN_SIGNATURES) expect(binaryen).toContain(signature);
  const js = report.files.filter((f) => f.file.endsWith('.js'));
  expect(js.length).toBeGreaterThan(0);
  for (const file of report.files) {
    const text = (await readFile(join(outDir, 'app', file.file))).toString('latin1');
    for (const signature of BINARYEN_SIGNATURES) {
      expect(text.includes(signature), `${file.file} holds ${signature}`).toBe(false);
    }
  }
  // binaryen.js alone is 13 MB: the whole app's JavaScript stays a small fraction of that.
  expect(report.js.bytes).toBeLessThan(2 * 1024 * 1024);
  expect(report.sqliteWasm.bytes).toBeGreaterThan(0);
  expect(report.tandemJs.gzip).toBeGreaterThan(0);
});

test('the built app loads the prepared reducer /reducers/current names and syncs on the pages the coordinator and a Node client reach', async () => {
  const hash = createHash('sha256').update(prepared).digest('hex');
  expect(coordinator.reducerHash).toBe(hash);
  const { page, errors } = await openPage();
  const docId = 'bundled';
  const node = await openDocument({
    docId,
    reducer: TODO,
    coordinatorUrl: `${coordinator.url.replace('http', 'ws')}/sync`,
    sync: { backoffMs: 20 },
  });
  try {
    await node.mutate({ type: 'create', id: 'n', title: 'from node' });
    await node.synced();
    const run = await page.evaluate(([d, t]) => window.bundlePage.run(d, t), [
      docId,
      ['milk', 'bread'],
    ] as const);
    expect(errors).toEqual([]);
    // The browser hashed the bytes it compiled and said so in hello; a welcome with another hash
    // would have failed its sync (reducer-mismatch): it ran the coordinator's very bytes.
    expect(run.current).toEqual({ sha256: hash, url: `/reducers/${hash}.wasm` });
    expect(run.syncState).toBe('live');
    expect(run.rows).toEqual([
      { id: 'n', title: 'from node' },
      { id: 't0', title: 'milk' },
      { id: 't1', title: 'bread' },
    ]);
    expect(run.pageHash).toBe(await coordinator.pageHash(docId));
    while ((await node.query('SELECT count(*) AS n FROM todos'))[0]?.n !== 3) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(await node.pageHash()).toBe(run.pageHash);
  } finally {
    await node.close();
    await page.close();
  }
});

test('the browser refuses a component and a reducer prepared by another meter version with invalid-reducer', async () => {
  const { page } = await openPage();
  try {
    const refusal = (url: string) =>
      page.evaluate(([d, u]) => window.bundlePage.refusal(d, u), [`refused-${url}`, url] as const);
    expect(await refusal('/component.wasm')).toMatchObject({
      tandem: true,
      kind: 'invalid-reducer',
      reason: 'not-prepared',
    });
    const other = await refusal('/other-meter.wasm');
    expect(other).toMatchObject({ tandem: true, kind: 'invalid-reducer', reason: 'meter-mismatch' });
    expect(other?.message).toContain(`meter version ${METER_VERSION + 1}`);
  } finally {
    await page.close();
  }
});
