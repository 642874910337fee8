// The document journal on node:fs: frame appends with an fsync per commit and with group commit,
// recovery of 100k frames, and a checkpoint of a 100 MB database.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsByteStore } from '@tandem/host-node';
import { DocumentJournal, type Frame, PAGE_SIZE, PageStore, rebuildStore } from '@tandem/runtime';
import { medianMs, report } from './report.js';

const COMMITS = Number(process.env.BENCH_COMMITS ?? 1_000);
const RECOVERY_FRAMES = Number(process.env.BENCH_RECOVERY_FRAMES ?? 100_000);
const CHECKPOINT_MB = Number(process.env.BENCH_CHECKPOINT_MB ?? 100);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const MB = 1024 * 1024;

/** A frame like a small commit's: page 1 (the header) and one table page. */
function frame(lsn: number, pagesPerFrame: number): Frame {
  const pages = [];
  for (let k = 0; k < pagesPerFrame; k++) {
    const data = new Uint8Array(PAGE_SIZE);
    data.fill((lsn + k) & 0xff, 0, 64);
    pages.push({ pgno: k === 0 ? 1 : 2 + (lsn % 50) * pagesPerFrame + k, data });
  }
  pages.sort((a, b) => a.pgno - b.pgno);
  return { lsn, pageCount: 2 + 50 * pagesPerFrame + pagesPerFrame, pages };
}

async function withDirectory<T>(fn: (directory: string) => Promise<T>): Promise<T> {
  const directory = await mkdtemp(join(tmpdir(), 'tandem-journal-bench-'));
  try {
    return await fn(directory);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/** Frames per second when `committers` commit concurrently, each waiting for its frame to be durable. */
async function commitRate(committers: number): Promise<number> {
  const frames = Array.from({ length: COMMITS }, (_, lsn) => frame(lsn, 2));
  const ms = await medianMs(RUNS, () =>
    withDirectory(async (directory) => {
      const store = await FsByteStore.open(directory);
      const { journal } = await DocumentJournal.open(store);
      for (let start = 0; start < COMMITS; start += committers) {
        const waiting: Promise<void>[] = [];
        for (let lsn = start; lsn < Math.min(COMMITS, start + committers); lsn++) {
          journal.appendFrame(frames[lsn]!);
          waiting.push(journal.sync());
        }
        await Promise.all(waiting);
      }
      await store.close();
    }),
  );
  return (COMMITS / ms) * 1000;
}

const frameBytes = 2 * (PAGE_SIZE + 4) + 8 + 8 + 9;
console.log(
  `# document journal on node:fs, 2-page frames (${frameBytes} bytes), median of ${RUNS} runs, Node ${process.version}`,
);
const perCommit = await commitRate(1);
report(
  'frame log, fsync per commit',
  perCommit,
  'frames/s',
  `${((perCommit * frameBytes) / MB).toFixed(1)} MB/s`,
);
const grouped = await commitRate(16);
report(
  'frame log, group commit (16 committers)',
  grouped,
  'frames/s',
  `${((grouped * frameBytes) / MB).toFixed(1)} MB/s`,
);

await withDirectory(async (directory) => {
  const store = await FsByteStore.open(directory);
  const { journal } = await DocumentJournal.open(store);
  for (let lsn = 0; lsn < RECOVERY_FRAMES; lsn++) {
    journal.appendFrame(frame(lsn, 1));
    if (lsn % 1000 === 999) await journal.sync();
  }
  await journal.sync();
  await store.close();
  let frames = 0;
  const ms = await medianMs(RUNS, async () => {
    const reopened = await FsByteStore.open(directory);
    const { recovered } = await DocumentJournal.open(reopened);
    rebuildStore(recovered);
    frames = recovered.frames.length;
    await reopened.close();
  });
  const mb = (RECOVERY_FRAMES * (PAGE_SIZE + 29)) / MB;
  report(
    `recovery of ${frames.toLocaleString('en-US')} 1-page frames`,
    ms,
    'ms',
    `${mb.toFixed(0)} MB, rebuild included`,
  );
});

await withDirectory(async (directory) => {
  const pageCount = (CHECKPOINT_MB * MB) / PAGE_SIZE;
  const database = new PageStore();
  const data = new Uint8Array(PAGE_SIZE);
  for (let pgno = 1; pgno <= pageCount; pgno++) {
    data.fill(pgno & 0xff, 0, 256);
    database.applyFrame({ pageCount: pgno, pages: [{ pgno, data }] });
  }
  let frameCount = 0;
  const ms = await medianMs(RUNS, async () => {
    const store = await FsByteStore.open(directory);
    const { journal } = await DocumentJournal.open(store);
    await journal.checkpoint(database, ++frameCount);
    await store.close();
  });
  report(`checkpoint of a ${CHECKPOINT_MB} MB database`, ms, 'ms', 'page file written, hashed and fsynced');
  const loadMs = await medianMs(RUNS, async () => {
    const store = await FsByteStore.open(directory);
    const { recovered } = await DocumentJournal.open(store);
    rebuildStore(recovered);
    await store.close();
  });
  report(`reopening from a ${CHECKPOINT_MB} MB checkpoint`, loadMs, 'ms', 'read, CRC and hash checked');
});
