// The browser bench page: opens a document through host-browser's tab API exactly as the demo app does
// (the reducer /reducers/current names, persisted, syncing with the coordinator that served the page),
// and runs the floor beside it in a worker of raw sqlite-wasm. Timings are taken here, in the tab.
import { openDocument, type Row, type TandemDocument } from '@tandem/host-browser';
import { askWorker } from '../page-support/ask-worker.js';
import type { BenchPage, OpenTiming, OpenVariant, SubscriptionShape } from '../src/browser-page-api.js';
import type { FromFloor, ToFloor } from './floor-protocol.js';
import { ALL_TODOS, subscriptionSql, todoTitle, toggledId } from './queries.js';

const FILL_BATCH = 500;
const coordinatorUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/sync`;

let doc: TandemDocument | undefined;
/** Whether `doc` syncs with the coordinator. */
let syncing = false;
let floor: Worker | undefined;

function opened(): TandemDocument {
  if (doc === undefined) throw new Error('no document open');
  return doc;
}

/** The prepared reducer's URL, as the app asks for it. */
async function currentReducer(): Promise<URL> {
  const response = await fetch('/reducers/current', { cache: 'no-store' });
  const body = (await response.json()) as { url: string };
  return new URL(body.url, location.href);
}

async function openVariant(docId: string, { persist, sync }: OpenVariant): Promise<TandemDocument> {
  const reducer = await currentReducer();
  doc = await openDocument({ docId, reducer, persist, ...(sync && { coordinatorUrl }) });
  syncing = sync;
  return doc;
}

function completedOf(rows: readonly Row[], id: string): unknown {
  return rows.find((row) => row.id === id)?.completed;
}

async function callbackTimes(shape: SubscriptionShape, count: number, todos: number): Promise<number[]> {
  const document = opened();
  let heard: ((rows: Row[], at: number) => void) | undefined;
  let latest: Row[] = [];
  const first = new Promise<void>((resolve, reject) => {
    heard = () => resolve();
    setTimeout(() => reject(new Error('the subscription never answered')), 10_000);
  });
  const params = shape === 'one' ? [toggledId(shape, 0, todos)] : [];
  const unsubscribe = document.subscribe(subscriptionSql(shape), params, (rows) => {
    const at = performance.now();
    latest = rows;
    heard?.(rows, at);
  });
  try {
    await first;
    const times: number[] = [];
    for (let i = 0; i < count; i++) {
      const id = toggledId(shape, i, todos);
      const wanted = 1 - Number(completedOf(latest, id));
      const answered = new Promise<number>((resolve) => {
        heard = (rows, at) => {
          if (Number(completedOf(rows, id)) === wanted) resolve(at);
        };
      });
      const start = performance.now();
      const mutated = document.mutate({ type: 'toggle', id });
      times.push((await answered) - start);
      const result = await mutated;
      if (result.status !== 'applied') throw new Error(`toggle ${id} was ${result.status}`);
    }
    return times;
  } finally {
    unsubscribe();
  }
}

const ask = (worker: Worker, message: ToFloor) => askWorker<FromFloor>(worker, message);

function startFloorWorker(): Worker {
  return new Worker(new URL('./floor-worker.ts', import.meta.url), { type: 'module', name: 'floor' });
}

async function floorTimes(shape: SubscriptionShape, count: number, todos: number): Promise<number[]> {
  if (floor === undefined) throw new Error('the floor was not started');
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const id = toggledId(shape, i, todos);
    const start = performance.now();
    const reply = await ask(floor, { type: 'toggle', shape, id });
    const at = performance.now();
    if (reply.type !== 'rows' || completedOf(reply.rows as Row[], id) === undefined) {
      throw new Error(`the floor did not answer the row of ${id}`);
    }
    times.push(at - start);
  }
  return times;
}

async function openTimed(docId: string): Promise<OpenTiming> {
  const reducer = await currentReducer();
  const start = performance.now();
  doc = await openDocument({ docId, reducer, coordinatorUrl });
  syncing = true;
  const openedAt = performance.now();
  const rows = await doc.query(ALL_TODOS);
  const answeredAt = performance.now();
  const { persisted, warning } = doc.status;
  return {
    openMs: openedAt - start,
    firstQueryMs: answeredAt - start,
    sinceNavigationMs: answeredAt,
    rows: rows.length,
    persisted,
    ...(warning !== undefined && { warning }),
  };
}

window.benchPage = {
  async open(docId, variant = { persist: true, sync: true }) {
    const { persisted, warning } = (await openVariant(docId, variant)).status;
    return { persisted, ...(warning !== undefined && { warning }) };
  },
  async fill(count) {
    const document = opened();
    for (let from = 0; from < count; from += FILL_BATCH) {
      const batch = Array.from({ length: Math.min(FILL_BATCH, count - from) }, (_, k) => ({
        type: 'create',
        id: `t${from + k}`,
        title: todoTitle(from + k),
      }));
      await document.mutateBatch(batch);
    }
    if (syncing) await document.synced();
  },
  callbackTimes,
  async close() {
    await doc?.close();
    doc = undefined;
    floor?.terminate();
    floor = undefined;
  },
  async floorStart(todos) {
    floor = startFloorWorker();
    const reply = await ask(floor, { type: 'start', todos });
    if (reply.type !== 'started') throw new Error('the floor did not start');
  },
  floorTimes,
  openTimed,
  async floorOpenTimed() {
    const start = performance.now();
    const worker = startFloorWorker();
    const reply = await ask(worker, { type: 'open-empty' });
    const at = performance.now();
    worker.terminate();
    if (reply.type !== 'rows' || reply.rows.length !== 1) throw new Error('the floor did not answer');
    return at - start;
  },
} satisfies BenchPage;
