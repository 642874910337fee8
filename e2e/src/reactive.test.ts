// Must-show 7 of the browser product: a subscription on `todos` is not re-run when a mutation writes
// only another table — the document's own mutation, its confirmation by the coordinator, or another
// client's mutation arriving in a rebase — in Node (host-node) and in Chromium (a dedicated worker,
// host-browser). The fixture reducer writes `todos` or `notes`; the document counts its subscription runs.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Coordinator, startCoordinator } from '@tandem/coordinator';
import { type LocalDocument, openDocument, type Row } from '@tandem/host-node';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { ReactiveCall, ReactiveReport } from './reactive-page-api.js';
import { launchChromium } from './support/chromium.js';
import { type FixtureServer, REPO_ROOT, serveFixture } from './support/vite-server.js';

const REDUCER = join(REPO_ROOT, 'e2e/fixtures/two-tables-reducer/dist/reducer.wasm');
const TODOS = 'SELECT id, title FROM todos ORDER BY id';

let coordinator: Coordinator;
let syncUrl: string;

beforeAll(async () => {
  coordinator = await startCoordinator({ reducer: await readFile(REDUCER), port: 0 });
  syncUrl = `${coordinator.url.replace('http', 'ws')}/sync`;
});

afterAll(async () => {
  await coordinator?.close();
});

/** The document under watch, wherever it runs. */
interface Watched {
  live(): Promise<void>;
  subscribe(sql: string): Promise<void>;
  mutate(mutation: unknown): Promise<unknown>;
  synced(): Promise<void>;
  waitForCount(sql: string, n: number): Promise<void>;
  report(): Promise<ReactiveReport>;
  close(): Promise<void>;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function nodeWatched(doc: LocalDocument): Watched {
  const heard: Row[][] = [];
  return {
    live: async () => {
      while (doc.syncState !== 'live') await pause(10);
    },
    subscribe: async (sql) => {
      doc.subscribe(sql, [], (rows) => heard.push(rows));
      await pause(0);
    },
    mutate: (mutation) => doc.mutate(mutation),
    synced: () => doc.synced(),
    waitForCount: async (sql, n) => {
      while (Object.values((await doc.query(sql))[0] ?? {})[0] !== n) await pause(10);
    },
    report: async () => {
      await pause(0);
      return { runs: doc.subscriptionRuns, heard };
    },
    close: () => doc.close(),
  };
}

function browserWatched(page: Page): Watched {
  const call = async (request: ReactiveCall): Promise<unknown> => {
    const answer = await page.evaluate((r) => window.reactiveCall(r), request);
    if (!answer.ok) throw new Error(answer.error);
    return answer.value;
  };
  return {
    live: async () => {
      await call({ method: 'live' });
    },
    subscribe: async (sql) => {
      await call({ method: 'subscribe', sql });
    },
    mutate: (mutation) => call({ method: 'mutate', mutation }),
    synced: async () => {
      await call({ method: 'synced' });
    },
    waitForCount: async (sql, n) => {
      await call({ method: 'waitForCount', sql, n });
    },
    report: async () => (await call({ method: 'report' })) as ReactiveReport,
    close: async () => {
      await call({ method: 'close' });
    },
  };
}

async function openNode(docId: string): Promise<LocalDocument> {
  return openDocument({ docId, reducer: REDUCER, coordinatorUrl: syncUrl, sync: { backoffMs: 20 } });
}

/** The claim, for a watched document and another client of the same document. */
async function notReRunByOtherTables(watched: Watched, other: LocalDocument): Promise<void> {
  // The coordinator creates its table of applied markers with the first push to a document: a schema
  // change, which re-runs every subscription. Let it happen first.
  await other.mutate({ type: 'note', id: 'n0', body: 'the first push' });
  await other.synced();
  await watched.live();
  await watched.waitForCount('SELECT count(*) FROM notes', 1);
  await watched.subscribe(TODOS);
  const { runs } = await watched.report();

  await watched.mutate({ type: 'note', id: 'n1', body: 'a note of its own' });
  expect((await watched.report()).runs, 'after its own mutation of notes').toBe(runs);
  await watched.synced();
  expect((await watched.report()).runs, 'after the coordinator confirmed it (a rebase)').toBe(runs);
  await other.mutate({ type: 'note', id: 'n2', body: "another client's note" });
  await watched.waitForCount('SELECT count(*) FROM notes', 3);
  expect((await watched.report()).runs, "after another client's note arrived (a rebase)").toBe(runs);

  await watched.mutate({ type: 'todo', id: 't1', title: 'milk' });
  const afterTodo = await watched.report();
  expect(afterTodo.runs, 'after its own mutation of todos').toBe(runs + 1);
  expect(afterTodo.heard).toEqual([[], [{ id: 't1', title: 'milk' }]]);
  await other.mutate({ type: 'todo', id: 't2', title: 'bread' });
  await watched.waitForCount('SELECT count(*) FROM todos', 2);
  expect((await watched.report()).heard.at(-1)).toEqual([
    { id: 't1', title: 'milk' },
    { id: 't2', title: 'bread' },
  ]);
}

test('in Node, a subscription on todos is not re-run when a mutation writes only another table', async () => {
  const docId = 'reactive-node';
  const doc = await openNode(docId);
  const other = await openNode(docId);
  try {
    await notReRunByOtherTables(nodeWatched(doc), other);
  } finally {
    await doc.close();
    await other.close();
  }
});

test('in Chromium, a subscription on todos is not re-run when a mutation writes only another table', async () => {
  let server: FixtureServer | undefined;
  let browser: Browser | undefined;
  const other = await openNode('reactive-browser');
  try {
    server = await serveFixture(join(REPO_ROOT, 'e2e/fixtures/reactive-page'));
    browser = await launchChromium();
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url);
    await page.waitForFunction(() => typeof window.reactiveCall === 'function');
    const current = (await (await fetch(`${coordinator.url}/reducers/current`)).json()) as { url: string };
    const answer = await page.evaluate((r) => window.reactiveCall(r), {
      method: 'open',
      reducerUrl: new URL(current.url, coordinator.url).href,
      coordinatorUrl: syncUrl,
      docId: 'reactive-browser',
    } satisfies ReactiveCall);
    expect(answer, errors.join('\n')).toEqual({ ok: true });
    const watched = browserWatched(page);
    await notReRunByOtherTables(watched, other);
    await watched.close();
  } finally {
    await other.close();
    await browser?.close();
    await server?.close();
  }
});
