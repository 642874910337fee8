import { describe, expect, test } from 'vitest';
import type { Frame } from '../frame.js';
import type { MutationEnvelope } from '../reducer/host.js';
import { Connection } from '../sqlite/connection.js';
import { loadSqlite } from '../sqlite/sqlite.js';
import { installCaptureVfs } from '../vfs/capture-vfs.js';
import { SeededRandom } from '../vfs/entropy.js';
import { PageStore } from '../vfs/page-store.js';
import type { ByteStore } from './byte-store.js';
import {
  DocumentJournal,
  type JournalOptions,
  type RecoveredState,
  rebuildStore,
} from './document-journal.js';
import {
  type CrashOutcome,
  type Fault,
  FaultyByteStore,
  InjectedFault,
  MemoryByteStore,
} from './memory-byte-store.js';
import { decodePageImage, PageImageError } from './page-image.js';
import { decodeRecords } from './record.js';
import { marksFiles, readSyncMarks } from './sync-marks.js';

const sqlite3 = await loadSqlite();
const vfs = installCaptureVfs(sqlite3);
let opened = 0;

/** SEED replays a failure; read without node: imports (tests may run in a browser). */
const SEED = BigInt(
  (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.FC_SEED ?? 3,
);
const SEGMENT_BYTES = 12 * 1024;

type Op =
  | { readonly kind: 'frame'; readonly frame: Frame }
  | { readonly kind: 'mutation'; readonly mutation: MutationEnvelope }
  | { readonly kind: 'sync' }
  | { readonly kind: 'checkpoint'; readonly frameCount: number }
  | { readonly kind: 'snapshot'; readonly frameCount: number };

interface Workload {
  readonly ops: Op[];
  readonly frames: Frame[];
  readonly mutations: MutationEnvelope[];
  /** hashes[n]: the database after the first n frames. */
  readonly hashes: string[];
  /** stores[n]: the database after the first n frames. */
  readonly stores: PageStore[];
}

/** A seeded SQL workload: its frames, timeline mutations, syncs and two checkpoints and a snapshot. */
async function scriptedWorkload(seed: bigint): Promise<Workload> {
  const random = new SeededRandom(seed);
  const store = new PageStore();
  const frames: Frame[] = [];
  const db = vfs.open(`journal-workload-${++opened}`, store, (c) =>
    frames.push({ lsn: frames.length, pageCount: c.pageCount, pages: c.pages }),
  );
  const conn = new Connection(db);
  const hashes = [await store.hash()];
  const ops: Op[] = [];
  const mutations: MutationEnvelope[] = [];
  const statements = ['CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)', 'CREATE INDEX t_v ON t(v)'];
  for (let i = 0; i < 40; i++) {
    const pick = Number(random.nextU64() % 4n);
    const id = Number(random.nextU64() % 40n);
    const size = 10 + Number(random.nextU64() % 3000n);
    statements.push(
      pick === 0
        ? `DELETE FROM t WHERE id % 7 = ${id % 7}`
        : `INSERT OR REPLACE INTO t VALUES (${id}, randomblob(${size}))`,
    );
  }
  for (const [i, sql] of statements.entries()) {
    const before = frames.length;
    conn.exec(sql);
    if (frames.length === before) continue;
    hashes.push(await store.hash());
    ops.push({ kind: 'frame', frame: frames.at(-1)! });
    if (i % 2 === 0) {
      const mutation: MutationEnvelope = {
        timelineId: 'crash-test',
        lsn: mutations.length,
        timestamp: 1_700_000_000_000 + i,
        payload: new TextEncoder().encode(sql),
      };
      mutations.push(mutation);
      ops.push({ kind: 'mutation', mutation });
    }
    if (i % 3 === 2) ops.push({ kind: 'sync' });
    if (i === 12) ops.push({ kind: 'checkpoint', frameCount: frames.length });
    if (i === 18) ops.push({ kind: 'snapshot', frameCount: frames.length });
    if (i === 24) ops.push({ kind: 'checkpoint', frameCount: frames.length - 2 });
  }
  ops.push({ kind: 'sync' });
  conn.close();
  const stores = [new PageStore()];
  for (const frame of frames) {
    const next = rebuildStore({ image: undefined, frames: frames.slice(0, frame.lsn + 1) });
    stores.push(next);
  }
  return { ops, frames, mutations, hashes, stores };
}

interface Progress {
  frames: number;
  mutations: number;
  syncedFrames: number;
  syncedMutations: number;
}

/** Runs `ops` against the journal until the store stops; failures of single operations are absorbed. */
async function run(
  journal: DocumentJournal,
  ops: readonly Op[],
  workload: Workload,
  progress: Progress,
  isStopped: () => boolean,
): Promise<void> {
  for (const op of ops) {
    if (isStopped()) return;
    try {
      switch (op.kind) {
        case 'frame':
          if (op.frame.lsn < progress.frames) break;
          journal.appendFrame(op.frame);
          progress.frames = op.frame.lsn + 1;
          break;
        case 'mutation':
          if (op.mutation.lsn < progress.mutations) break;
          journal.appendMutation(op.mutation);
          progress.mutations = op.mutation.lsn + 1;
          break;
        case 'sync': {
          const { frames, mutations } = progress;
          await journal.sync();
          progress.syncedFrames = Math.max(progress.syncedFrames, frames);
          progress.syncedMutations = Math.max(progress.syncedMutations, mutations);
          break;
        }
        case 'checkpoint':
          if (op.frameCount <= progress.frames)
            await journal.checkpoint(workload.stores[op.frameCount]!, op.frameCount);
          break;
        case 'snapshot':
          if (op.frameCount <= progress.frames)
            await journal.snapshot(workload.stores[op.frameCount]!, op.frameCount);
          break;
      }
    } catch {
      // A failed operation leaves the journal refusing work; the crash image decides what survived.
    }
  }
}

const integrity = new Map<string, string>();

async function checkRecovered(
  workload: Workload,
  recovered: RecoveredState,
  progress: Progress,
  label: string,
): Promise<number> {
  const store = rebuildStore(recovered);
  const frameCount = (recovered.image?.frameCount ?? 0) + recovered.frames.length;
  const hash = await store.hash();
  expect(hash, `${label}: the database after ${frameCount} frames`).toBe(workload.hashes[frameCount]);
  expect(frameCount, `${label}: synced frames survive`).toBeGreaterThanOrEqual(progress.syncedFrames);
  expect(frameCount, label).toBeLessThanOrEqual(progress.frames);
  expect(recovered.pending.decode(), `${label}: the timeline is a prefix`).toEqual(
    workload.mutations.slice(0, recovered.pending.length),
  );
  expect(recovered.pending.length, `${label}: synced mutations survive`).toBeGreaterThanOrEqual(
    progress.syncedMutations,
  );
  if (!integrity.has(hash)) {
    const conn = new Connection(vfs.open(`journal-check-${++opened}`, store, () => undefined));
    const cell = conn.query('PRAGMA integrity_check', []).rows[0]?.[0];
    integrity.set(hash, cell?.tag === 'text' ? cell.val : 'empty');
    conn.close();
  }
  expect(integrity.get(hash), `${label}: integrity_check`).toMatch(/^(ok|empty)$/);
  return frameCount;
}

async function countOperations(
  workload: Workload,
  options: JournalOptions,
): Promise<{ writes: number; syncs: number }> {
  const store = new FaultyByteStore({ mode: 'fail', at: 'write', k: Number.MAX_SAFE_INTEGER });
  const { journal } = await DocumentJournal.open(store, options);
  const progress = { frames: 0, mutations: 0, syncedFrames: 0, syncedMutations: 0 };
  await run(journal, workload.ops, workload, progress, () => false);
  return { writes: store.writes, syncs: store.syncs };
}

const workload = await scriptedWorkload(SEED);
/** Without sync marks (a client's journal) and with them (the coordinator's): a crash is never damage. */
const VARIANTS: { readonly name: string; readonly options: JournalOptions }[] = [
  { name: 'without sync marks', options: { segmentBytes: SEGMENT_BYTES } },
  {
    name: 'with sync marks',
    options: { segmentBytes: SEGMENT_BYTES, syncMarks: true, timelineId: 'crash-journal' },
  },
];

function faults(counts: { writes: number; syncs: number }): Fault[] {
  const list: Fault[] = [];
  for (let k = 1; k <= counts.writes; k++) {
    list.push({ mode: 'stop', at: 'write', k });
    list.push({ mode: 'stop', at: 'write', k, tear: true });
    list.push({ mode: 'fail', at: 'write', k, tear: true });
  }
  for (let k = 1; k <= counts.syncs; k++) {
    list.push({ mode: 'stop', at: 'sync', k });
    list.push({ mode: 'fail', at: 'sync', k });
  }
  return list;
}

const OUTCOMES: CrashOutcome[] = [{ keepUnsynced: false, undoDeletes: true }, { keepUnsynced: true }];

describe.each(VARIANTS)(`crash recovery $name (seed ${SEED}: FC_SEED=${SEED} replays it)`, ({ options }) => {
  test('the scripted workload touches enough of the journal to be worth crashing', async () => {
    const counts = await countOperations(workload, options);
    expect(counts.writes).toBeGreaterThan(40);
    expect(counts.syncs).toBeGreaterThan(10);
  });

  test('a crash at any write or sync recovers a prefix of the committed work, intact, with everything synced, and the journal goes on from there', async () => {
    for (const fault of faults(await countOperations(workload, options))) {
      for (const outcome of OUTCOMES) {
        const label = `${fault.mode} at ${fault.at} ${fault.k}${fault.tear ? ' (torn)' : ''}, ${outcome.keepUnsynced ? 'unsynced kept' : 'unsynced lost, deletes undone'}`;
        const store = new FaultyByteStore(fault);
        const progress = { frames: 0, mutations: 0, syncedFrames: 0, syncedMutations: 0 };
        try {
          const { journal } = await DocumentJournal.open(store, options);
          await run(journal, workload.ops, workload, progress, () => store.stopped);
        } catch (error) {
          // The open itself writes (identity, sync marks): a crash may come before it returns.
          if (!(error instanceof InjectedFault)) throw error;
        }

        const image: ByteStore = store.crashImage(outcome);
        const reopened = await DocumentJournal.open(image, options);
        const frameCount = await checkRecovered(workload, reopened.recovered, progress, label);

        // Going on after the crash: the rest of the workload lands after the recovered prefix.
        const resumed = {
          frames: frameCount,
          mutations: reopened.recovered.pending.length,
          syncedFrames: 0,
          syncedMutations: 0,
        };
        await run(reopened.journal, workload.ops, workload, resumed, () => false);
        const final = await DocumentJournal.open(
          (image as MemoryByteStore).crashImage({ keepUnsynced: false }),
          options,
        );
        const done = {
          ...resumed,
          syncedFrames: workload.frames.length,
          syncedMutations: workload.mutations.length,
        };
        expect(await checkRecovered(workload, final.recovered, done, `${label}, then resumed`)).toBe(
          workload.frames.length,
        );
      }
    }
  }, 120_000);
});

test('a checkpoint folds the frame log into the page file: reopening reads the image and only the later frames', async () => {
  const store = new MemoryByteStore();
  const { journal } = await DocumentJournal.open(store, { segmentBytes: SEGMENT_BYTES });
  for (const frame of workload.frames) journal.appendFrame(frame);
  await journal.sync();
  const at = workload.frames.length - 3;
  await journal.checkpoint(workload.stores[at]!, at);
  const { recovered } = await DocumentJournal.open(store);
  expect(recovered.image?.frameCount).toBe(at);
  expect(recovered.frames.map((f) => f.lsn)).toEqual([at, at + 1, at + 2]);
  expect(await rebuildStore(recovered).hash()).toBe(workload.hashes.at(-1));
  expect((await store.list()).filter((f) => f.startsWith('frames.')).length).toBeLessThan(
    Math.ceil(workload.frames.length / 3),
  );
});

test('a snapshot at any lsn N plus the frames after N rebuilds the same pages, and is smaller than the pages', async () => {
  for (let n = 1; n <= workload.frames.length; n++) {
    const store = new MemoryByteStore();
    const { journal } = await DocumentJournal.open(store, { segmentBytes: SEGMENT_BYTES });
    for (const frame of workload.frames) journal.appendFrame(frame);
    await journal.sync();
    const { bytes } = await journal.snapshot(workload.stores[n]!, n);
    expect(bytes.length).toBeLessThan(workload.stores[n]!.pageCount * 4096);

    const image = await decodePageImage(bytes);
    expect(image.hash).toBe(workload.hashes[n]);
    const sent = rebuildStore({ image, frames: workload.frames.slice(n) });
    expect(await sent.hash(), `snapshot at ${n}`).toBe(workload.hashes.at(-1));

    await journal.truncateFrames(n);
    await expect(journal.truncateFrames(n + 1)).rejects.toThrow(/not covered/);
    const { recovered } = await DocumentJournal.open(store);
    expect(recovered.image?.frameCount).toBe(n);
    expect(recovered.frames[0]?.lsn).toBe(n < workload.frames.length ? n : undefined);
    expect(await rebuildStore(recovered).hash()).toBe(workload.hashes.at(-1));
  }
});

test('a snapshot whose bytes were damaged anywhere is refused, never loaded', async () => {
  const store = new MemoryByteStore();
  const { journal } = await DocumentJournal.open(store);
  const n = workload.frames.length;
  const { bytes } = await journal.snapshot(workload.stores[n]!, n);
  for (let i = 0; i < bytes.length; i += Math.max(1, Math.floor(bytes.length / 97))) {
    const damaged = bytes.slice();
    damaged[i] = damaged[i]! ^ 0x40;
    await expect(decodePageImage(damaged), `byte ${i}`).rejects.toBeInstanceOf(PageImageError);
    await expect(decodePageImage(bytes.subarray(0, i)), `cut at ${i}`).rejects.toBeInstanceOf(PageImageError);
  }
});

test("a client's checkpoint holds the base, not the overlay of its unconfirmed pages", async () => {
  const n = workload.frames.length;
  const client = rebuildStore({ image: undefined, frames: workload.frames.slice(0, n - 1) });
  client.write(1, new Uint8Array(4096).fill(9));
  const store = new MemoryByteStore();
  const { journal } = await DocumentJournal.open(store);
  await journal.checkpoint(client.base(), n - 1);
  const { recovered } = await DocumentJournal.open(store);
  expect(await rebuildStore(recovered).hash()).toBe(workload.hashes[n - 1]);
});

test('truncatesTimeline says whether truncateTimeline would delete or write anything, at every lsn', async () => {
  const seeded = new SeededRandom(SEED);
  const random = { next: () => Number(seeded.nextU64() >> 11n) / 2 ** 53 };
  for (let round = 0; round < 6; round++) {
    const sizes = Array.from({ length: 1 + Math.floor(random.next() * 80) }, () =>
      Math.floor(random.next() * 300),
    );
    for (let lsn = 0; lsn <= sizes.length + 1; lsn++) {
      for (const emptied of [false, true]) {
        const store = new MemoryByteStore();
        const { journal } = await DocumentJournal.open(store, { segmentBytes: 1024 });
        for (const [i, size] of sizes.entries()) {
          journal.appendMutation({ timelineId: 't', lsn: i, timestamp: i, payload: new Uint8Array(size) });
        }
        await journal.sync();
        const said = journal.truncatesTimeline(lsn, emptied);
        const before = (await store.list()).sort().join();
        let reached = false;
        const reach = async (): Promise<void> => {
          reached = true;
        };
        await journal.truncateTimeline(lsn, emptied ? reach : undefined);
        const changed = reached || (await store.list()).sort().join() !== before;
        expect(said, `${sizes.length} mutations, cut at ${lsn}, emptied ${emptied} (FC_SEED=${SEED})`).toBe(
          changed,
        );
      }
    }
  }
});

test('with sync marks, what waits for a sync goes on before its mark is written, and the syncs of one turn share a mark', async () => {
  const store = new MemoryByteStore();
  const { journal } = await DocumentJournal.open(store, { syncMarks: true, timelineId: 'marks-turn' });
  const markRecords = async (): Promise<number> => {
    let count = 0;
    for (const file of marksFiles(await store.list())) {
      count += decodeRecords((await store.read(file)) ?? new Uint8Array(0)).records.length;
    }
    return count;
  };
  const opened = await markRecords();
  const [first, second, third] = workload.frames;
  journal.appendFrame(first!);
  await journal.sync();
  journal.appendFrame(second!);
  await journal.sync();
  // Both syncs are acknowledged, and no mark was written yet: it waits for a later turn.
  expect(await markRecords()).toBe(opened);
  await journal.marked();
  expect(await markRecords()).toBe(opened + 1);
  expect((await readSyncMarks(store, await store.list()))[0]?.frameCount).toBe(2);
  journal.appendFrame(third!);
  await journal.sync();
  await journal.marked();
  expect(await markRecords()).toBe(opened + 2);
});
