// Appends per second through FsByteStore for the patterns a journal uses (each append awaited, many in
// flight, a sync per append, a sync per 100 appends), beside the floor: one FileHandle.write per append
// (and one datasync per append) straight on node:fs/promises.
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsByteStore } from '@tandem/host-node';
import { MemoryByteStore } from '@tandem/runtime';
import { medianMs, report } from './report.js';

const TOTAL = Number(process.env.BENCH_APPENDS ?? 10_000);
const SYNCED = Math.min(TOTAL, Number(process.env.BENCH_SYNCED_APPENDS ?? 1_000));
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const RECORD = new Uint8Array(100).fill(7);

interface Appender {
  append(name: string, bytes: Uint8Array): Promise<void>;
  sync(name: string): Promise<void>;
}

/** Appends per second of `count` appends to one file, `inFlight` at a time, a sync every `syncEvery`. */
async function rate(
  count: number,
  make: (directory: string) => Promise<Appender & { close(): Promise<void> }>,
  inFlight: number,
  syncEvery: number,
): Promise<number> {
  const ms = await medianMs(RUNS, async () => {
    const directory = await mkdtemp(join(tmpdir(), 'tandem-bench-'));
    const store = await make(directory);
    for (let start = 0; start < count; start += inFlight) {
      const pending: Promise<void>[] = [];
      for (let i = start; i < Math.min(count, start + inFlight); i++) {
        pending.push(store.append('journal.log', RECORD));
        if ((i + 1) % syncEvery === 0) pending.push(store.sync('journal.log'));
      }
      await Promise.all(pending);
    }
    await store.close();
    await rm(directory, { recursive: true, force: true });
  });
  return (count / ms) * 1000;
}

const fsStore = (directory: string) => FsByteStore.open(directory);
const memoryStore = async () => Object.assign(new MemoryByteStore(), { close: async () => {} });
/** The floor: one awaited write (and datasync) per append on one handle, no queue, no copy. */
const rawHandle = async (directory: string) => {
  const handle = await open(join(directory, 'journal.log'), 'a');
  return {
    append: async (_name: string, bytes: Uint8Array) => {
      await handle.write(bytes);
    },
    sync: () => handle.datasync(),
    close: () => handle.close(),
  };
};

const NEVER = Number.POSITIVE_INFINITY;
console.log(
  `# byte store throughput: 100-byte appends to one file, median of ${RUNS} runs, Node ${process.version}`,
);
report('FsByteStore, each append awaited', await rate(TOTAL, fsStore, 1, NEVER), 'appends/s');
report('node:fs FileHandle.write, each awaited (floor)', await rate(TOTAL, rawHandle, 1, NEVER), 'appends/s');
report('FsByteStore, 100 appends in flight', await rate(TOTAL, fsStore, 100, NEVER), 'appends/s');
report('FsByteStore, 100 appends in flight, then a sync', await rate(TOTAL, fsStore, 100, 100), 'appends/s');
report('FsByteStore, each append then a sync, awaited', await rate(SYNCED, fsStore, 1, 1), 'appends/s');
report('node:fs write + datasync, each awaited (floor)', await rate(SYNCED, rawHandle, 1, 1), 'appends/s');
report('MemoryByteStore, each append awaited', await rate(TOTAL, memoryStore, 1, NEVER), 'appends/s');
