// An upgrade keeps the reducer it moves to beside the schema mark, synced before the mark (runtime
// storage/schema-mark.ts invariants 4, 5, 6): a crash at any write or sync of that sequence — the kept
// reducer's bytes, their sync, the mark recording the move, its sync, the mark written again once the
// move held, the deletes after — and of an open that writes the mark on what it left, never leaves a
// document that an offline reopen with the app's version 1 refuses. It opens on the reducer the mark
// names (never an orphan kept newer than it), or on the one a move that never held began from, with
// every mutation that resolved before the crash, and so does the reopen after that.
import { readFile } from 'node:fs/promises';
import {
  type ByteStore,
  type CrashOutcome,
  type Fault,
  FaultyByteStore,
  type MemoryByteStore,
  openLocalDocument,
  readMarkedReducer,
  readSchemaMarkRecord,
} from '@tandem/runtime/local';
import { loadReducer } from '@tandem/runtime/prepare';
import { expect, test } from 'vitest';
import { schemaLifecycle } from './schema-version.js';

const reducer = async (path: string) =>
  loadReducer(await readFile(new URL(`../../${path}/dist/reducer.wasm`, import.meta.url)));
const v1 = await reducer('e2e/fixtures/todo-v1-reducer');
const v2 = await reducer('reducers/todo');
const v3 = await reducer('e2e/fixtures/todo-v3-reducer');

const open = (storage: ByteStore, app = v1) =>
  openLocalDocument({ schema: schemaLifecycle, docId: 'd', reducer: app, timelineId: 't', storage });

/** What resolved before the crash: each must be there after it. */
interface Done {
  created: string[];
  priority?: number;
}

/** Where each move's writes and syncs fall in the store's count (FaultyByteStore counts from 1). */
interface Window {
  readonly writes: readonly [number, number];
  readonly syncs: readonly [number, number];
}

/** 1 → 2 → 3 with a mutation under each; the moves' operation windows. */
async function workload(store: FaultyByteStore, done: Done): Promise<Window[]> {
  const windows: Window[] = [];
  const move = async (to: typeof v1, doc: Awaited<ReturnType<typeof open>>) => {
    const [w, s] = [store.writes, store.syncs];
    await doc.upgradeReducer(to);
    windows.push({ writes: [w + 1, store.writes + 1], syncs: [s + 1, store.syncs + 1] });
  };
  const doc = await open(store);
  await doc.mutate({ type: 'create', id: 'a', title: 'milk' });
  done.created.push('a');
  await move(v2, doc);
  await doc.mutate({ type: 'setPriority', id: 'a', priority: 3 });
  done.priority = 3;
  await move(v3, doc);
  await doc.mutate({ type: 'create', id: 'b', title: 'bread' });
  done.created.push('b');
  await doc.close();
  return windows;
}

const NEVER: Fault = { mode: 'stop', at: 'write', k: Number.MAX_SAFE_INTEGER };
const OUTCOMES: CrashOutcome[] = [{ keepUnsynced: false, undoDeletes: true }, { keepUnsynced: true }];

function faultsIn(windows: readonly Window[]): Fault[] {
  const faults: Fault[] = [];
  for (const { writes, syncs } of windows) {
    for (let k = writes[0]; k <= writes[1]; k++) {
      faults.push({ mode: 'stop', at: 'write', k }, { mode: 'stop', at: 'write', k, tear: true });
    }
    for (let k = syncs[0]; k <= syncs[1]; k++) faults.push({ mode: 'stop', at: 'sync', k });
  }
  return faults;
}

/** Runs `work` on `store`; a stop the store injected ends it as a crash would. */
async function crashing(store: FaultyByteStore, work: () => Promise<unknown>): Promise<void> {
  try {
    await work();
  } catch (error) {
    if (!store.stopped) throw error;
  }
}

/** Opens `image` offline with version 1 twice; each open must succeed and hold what `done` says. */
async function reopensWhole(image: MemoryByteStore, done: Done, label: string): Promise<string> {
  let hash: string | undefined;
  for (const round of [1, 2]) {
    const doc = await open(image).catch((error: unknown) => {
      throw new Error(`${label}, open ${round}: ${(error as Error).message}`, { cause: error });
    });
    const rows = await doc.query('SELECT * FROM todos ORDER BY id');
    const ids = rows.map((row) => row.id);
    for (const id of done.created) expect(ids, `${label}, open ${round}`).toContain(id);
    if (done.priority !== undefined) {
      expect(doc.reducer.schemaVersion, `${label}, open ${round}`).toBeGreaterThanOrEqual(2);
      expect(rows.find((row) => row.id === 'a')?.priority, `${label}, open ${round}`).toBe(done.priority);
    }
    if (hash !== undefined) expect(doc.reducer.hash, `${label}, open ${round}`).toBe(hash);
    hash = doc.reducer.hash;
    await doc.close();
  }
  return hash!;
}

test('a crash at any write of an upgrade keep-then-mark, or of the open that writes the mark on what it left, never gets a reopen with the older app reducer refused, runs the reducer the mark names over an orphan, and loses nothing', async () => {
  const windows = await workload(new FaultyByteStore(NEVER), { created: [] });
  expect(windows).toHaveLength(2);
  const seen = new Set<string>();
  let writingOpens = 0;
  let orphans = 0;
  for (const fault of faultsIn(windows)) {
    const store = new FaultyByteStore(fault);
    const done: Done = { created: [] };
    await crashing(store, () => workload(store, done));
    expect(store.stopped, `${fault.at} ${fault.k}`).toBe(true);
    for (const outcome of OUTCOMES) {
      const label = `stop at ${fault.at} ${fault.k}${fault.tear ? ' (torn)' : ''}, ${outcome.keepUnsynced ? 'unsynced kept' : 'unsynced lost, deletes undone'}`;
      const image = store.crashImage(outcome);
      const files = await image.list();
      const mark = await readSchemaMarkRecord(image, files);
      // The first open writes the mark when it puts back one whose move never held: crash that open too.
      const probe = image.crashImage({ keepUnsynced: true });
      const opened = await reopensWhole(probe, done, label);
      seen.add(opened);
      const orphan = mark && (await readMarkedReducer(image, files, mark.schemaVersion + 1));
      if (mark?.sha256 !== undefined && mark.move === undefined && mark.schemaVersion > 1) {
        // A mark above the app's names the reducer that opens, whatever else is kept beside it.
        expect(opened, label).toBe(mark.sha256);
        if (typeof orphan === 'object') orphans++;
      }
      if (JSON.stringify(await readSchemaMarkRecord(probe, await probe.list())) === JSON.stringify(mark)) {
        continue;
      }
      writingOpens++;
      const counting = await FaultyByteStore.holding(image, NEVER);
      await (await open(counting)).close();
      const opening = { writes: [1, counting.writes + 1], syncs: [1, counting.syncs + 1] } as const;
      for (const inner of faultsIn([opening])) {
        const again = await FaultyByteStore.holding(image, inner);
        await crashing(again, async () => (await open(again)).close());
        for (const after of OUTCOMES) {
          const innerLabel = `${label}; open stopped at ${inner.at} ${inner.k}${inner.tear ? ' (torn)' : ''}`;
          seen.add(await reopensWhole(again.crashImage(after), done, innerLabel));
        }
      }
    }
  }
  // Each reducer ran some reopen: version 1 (a crash before the first mark), 2 and 3.
  expect(seen).toEqual(new Set([v1.sha256, v2.sha256, v3.sha256]));
  expect(writingOpens).toBeGreaterThan(0);
  expect(orphans).toBeGreaterThan(0);
}, 120_000);
