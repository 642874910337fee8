// Apply throughput of the todo reducer in Node (issue 10, must-show 1 and 7), interleaved round by round
// with its floors, medians of >= 5 rounds after a warm-up:
// - apply, todo create, batch 1000: host-node's in-memory document (mutateBatch) against raw sqlite-wasm
//   prepared inserts in a transaction per 1000 (the floor), and beside them the two statements the todo
//   reducer runs per create (SELECT by id, INSERT) on Tandem's storage layer (capture VFS over a page store,
//   the runtime's Connection with its statement cache) without the reducer.
// - awaited local mutations/s in memory: `await doc.mutate(create)` one at a time, against raw sqlite-wasm
//   doing one autocommitted prepared insert per awaited turn.
import { readFile } from 'node:fs/promises';
import sqlite3InitModule from '@sqlite.org/sqlite-wasm';
import { openDocument } from '@tandem/host-node';
import { Connection, installCaptureVfs, loadSqlite, PageStore, type Value } from '@tandem/runtime';
import { loadReducerFrom } from '@tandem/runtime/prepare';

const TOTAL = Number(process.env.BENCH_MUTATIONS ?? 10_000);
const AWAITED = Number(process.env.BENCH_AWAITED ?? 3_000);
const RUNS = Math.max(5, Number(process.env.BENCH_RUNS ?? 7));
const WARM_UP = 1;
const BATCH = 1000;
const SCHEMA =
  'CREATE TABLE todos (id TEXT PRIMARY KEY, title TEXT NOT NULL, completed INTEGER NOT NULL, created_at INTEGER NOT NULL)';
const INSERT = 'INSERT INTO todos (id, title, completed, created_at) VALUES (?, ?, 0, ?)';
const EXISTS = 'SELECT 1 FROM todos WHERE id = ?';

const reducerPath = new URL('../../reducers/todo/dist/reducer.wasm', import.meta.url);
const reducer = await loadReducerFrom(await readFile(reducerPath), reducerPath.pathname);
const raw = await sqlite3InitModule();
const captureVfs = installCaptureVfs(await loadSqlite());

const title = (i: number) => `todo number ${i}, something to do`;
const create = (i: number) => ({ type: 'create', id: `id-${i}`, title: title(i) });
let docs = 0;

/** ms for TOTAL creates through the reducer, in batches of BATCH. */
async function tandemApply(): Promise<number> {
  const doc = await openDocument({ docId: `apply-${docs++}`, reducer });
  let ms = 0;
  for (let start = 0; start < TOTAL; start += BATCH) {
    const batch = [];
    for (let i = start; i < Math.min(TOTAL, start + BATCH); i++) batch.push(create(i));
    const t = performance.now();
    const results = await doc.mutateBatch(batch);
    ms += performance.now() - t;
    if (results.some((r) => r.status !== 'applied')) throw new Error('a create was not applied');
  }
  await doc.close();
  return ms;
}

/** ms for TOTAL of the todo reducer's two statements per create, on the capture VFS without a reducer. */
function storageLayer(): number {
  const store = new PageStore();
  const connection = new Connection(captureVfs.open(`storage-floor-${docs++}`, store, () => {}));
  connection.exec(SCHEMA);
  const text = (val: string): Value => ({ tag: 'text', val });
  let ms = 0;
  for (let start = 0; start < TOTAL; start += BATCH) {
    const t = performance.now();
    connection.exec('BEGIN IMMEDIATE');
    for (let i = start; i < Math.min(TOTAL, start + BATCH); i++) {
      const id = text(`id-${i}`);
      if (connection.query(EXISTS, [id]).rows.length > 0) throw new Error('duplicate id');
      connection.execute(INSERT, [id, text(title(i)), { tag: 'integer', val: 1_700_000_000_000n }]);
    }
    connection.exec('COMMIT');
    ms += performance.now() - t;
  }
  connection.close();
  return ms;
}

/** ms for TOTAL prepared inserts in raw sqlite-wasm, a transaction per BATCH. */
function rawInserts(): number {
  const db = new raw.oo1.DB(':memory:', 'c');
  db.exec(`PRAGMA page_size=4096; PRAGMA journal_mode=MEMORY; ${SCHEMA}`);
  const insert = db.prepare(INSERT);
  let ms = 0;
  for (let start = 0; start < TOTAL; start += BATCH) {
    const t = performance.now();
    db.exec('BEGIN');
    for (let i = start; i < Math.min(TOTAL, start + BATCH); i++) {
      insert.bind([`id-${i}`, title(i), 1_700_000_000_000]).stepReset();
    }
    db.exec('COMMIT');
    ms += performance.now() - t;
  }
  insert.finalize();
  db.close();
  return ms;
}

/** ms for AWAITED creates, each awaited before the next. */
async function tandemAwaited(): Promise<number> {
  const doc = await openDocument({ docId: `awaited-${docs++}`, reducer });
  const t = performance.now();
  for (let i = 0; i < AWAITED; i++) {
    const result = await doc.mutate(create(i));
    if (result.status !== 'applied') throw new Error('a create was not applied');
  }
  const ms = performance.now() - t;
  await doc.close();
  return ms;
}

/** ms for AWAITED autocommitted prepared inserts in raw sqlite-wasm, one per awaited turn. */
async function rawAwaited(): Promise<number> {
  const db = new raw.oo1.DB(':memory:', 'c');
  db.exec(`PRAGMA page_size=4096; PRAGMA journal_mode=MEMORY; ${SCHEMA}`);
  const insert = db.prepare(INSERT);
  const t = performance.now();
  for (let i = 0; i < AWAITED; i++) {
    await Promise.resolve();
    insert.bind([`id-${i}`, title(i), 1_700_000_000_000]).stepReset();
  }
  const ms = performance.now() - t;
  insert.finalize();
  db.close();
  return ms;
}

const samples = { apply: [] as number[], storage: [] as number[], raw: [] as number[] };
const awaited = { ours: [] as number[], raw: [] as number[] };
for (let round = 0; round < WARM_UP + RUNS; round++) {
  const apply = await tandemApply();
  const storage = storageLayer();
  const inserts = rawInserts();
  const ours = await tandemAwaited();
  const floor = await rawAwaited();
  if (round < WARM_UP) continue;
  samples.apply.push(apply);
  samples.storage.push(storage);
  samples.raw.push(inserts);
  awaited.ours.push(ours);
  awaited.raw.push(floor);
}

const median = (values: readonly number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const rate = (count: number, ms: number) => (count / ms) * 1000;
const k = (perSecond: number) => `${(perSecond / 1000).toFixed(1)}k/s`;
const applyRate = rate(TOTAL, median(samples.apply));
const storageRate = rate(TOTAL, median(samples.storage));
const rawRate = rate(TOTAL, median(samples.raw));
const awaitedRate = rate(AWAITED, median(awaited.ours));
const awaitedFloor = rate(AWAITED, median(awaited.raw));
const how = `medians of ${RUNS} rounds, interleaved, Node ${process.version}`;
console.log(
  `apply, todo create, batch ${BATCH}: ours ${k(applyRate)}, floor ${k(rawRate)} (raw sqlite-wasm prepared inserts), ratio ${(applyRate / rawRate).toFixed(2)} (goal >= 0.65; ${TOTAL} creates, ${how})`,
);
console.log(
  `apply storage layer, the todo create's two statements without the reducer, batch ${BATCH}: ours ${k(storageRate)}, floor ${k(rawRate)}, ratio ${(storageRate / rawRate).toFixed(2)} (capture VFS, page store, Connection; ${how})`,
);
console.log(
  `awaited local mutations/s in memory: ours ${k(awaitedRate)}, floor ${k(awaitedFloor)} (raw sqlite-wasm, one autocommitted prepared insert per awaited turn), ratio ${(awaitedRate / awaitedFloor).toFixed(2)} (goal >= 30k/s; ${AWAITED} todo creates; Replicache not installed here, PEERS.md: 5.4k-7.4k/s; ${how})`,
);
