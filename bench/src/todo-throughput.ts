// Mutations per second through the todo reducer in Node, for batch sizes 1, 100 and 1000, beside the
// same inserts done directly through sqlite-wasm with prepared statements (the floor).
import { fileURLToPath } from 'node:url';
import sqlite3InitModule from '@sqlite.org/sqlite-wasm';
import { openDocument } from '@tandem/host-node';
import { medianMs, report } from './report.js';

const REDUCER = fileURLToPath(new URL('../../reducers/todo/dist/reducer.wasm', import.meta.url));
const TOTAL = Number(process.env.BENCH_MUTATIONS ?? 10_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const BATCH_SIZES = [1, 100, 1000];

const title = (i: number) => `todo number ${i}, something to do`;

async function throughReducer(batchSize: number): Promise<number> {
  let docs = 0;
  const ms = await medianMs(RUNS, async () => {
    const doc = await openDocument({ docId: `bench-${batchSize}-${docs++}`, reducer: REDUCER });
    for (let start = 0; start < TOTAL; start += batchSize) {
      const batch = [];
      for (let i = start; i < Math.min(TOTAL, start + batchSize); i++) {
        batch.push({ type: 'create', id: `id-${i}`, title: title(i) });
      }
      await doc.mutateBatch(batch);
    }
    await doc.close();
  });
  return (TOTAL / ms) * 1000;
}

async function directSqlite(batchSize: number): Promise<number> {
  const sqlite3 = await sqlite3InitModule();
  const ms = await medianMs(RUNS, () => {
    const db = new sqlite3.oo1.DB(':memory:', 'c');
    db.exec(`PRAGMA page_size=4096; PRAGMA journal_mode=MEMORY;
      CREATE TABLE todos (id TEXT PRIMARY KEY, title TEXT NOT NULL, completed INTEGER NOT NULL, created_at INTEGER NOT NULL)`);
    const insert = db.prepare('INSERT INTO todos (id, title, completed, created_at) VALUES (?, ?, 0, ?)');
    for (let start = 0; start < TOTAL; start += batchSize) {
      db.exec('BEGIN');
      for (let i = start; i < Math.min(TOTAL, start + batchSize); i++) {
        insert.bind([`id-${i}`, title(i), Date.now()]).stepReset();
      }
      db.exec('COMMIT');
    }
    insert.finalize();
    db.close();
  });
  return (TOTAL / ms) * 1000;
}

console.log(`# todo throughput: ${TOTAL} creates, median of ${RUNS} runs, Node ${process.version}`);
for (const size of BATCH_SIZES) {
  report(`todo reducer (host-node), batch ${size}`, await throughReducer(size), 'mutations/s');
  report(`sqlite-wasm prepared inserts, ${size} per txn`, await directSqlite(size), 'inserts/s');
}
