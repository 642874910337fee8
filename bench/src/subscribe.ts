// Mutate → subscription callback in Node (issue 10, must-show 5): a host-node document in memory, one
// subscription on one todo (the shape of a peer's `get` subscription), then the same with 99 more
// subscriptions on notes, which the mutation never writes. Each sample times `mutate` until the listener
// hears the changed row. Beside it, in the same run and interleaved round by round, the floor: raw
// sqlite-wasm doing what the sample asks of the database (the same INSERT OR REPLACE in a transaction,
// then the same SELECT, stepped into row objects), with nothing else. Medians over rounds of each
// round's p50 and p99.
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import sqlite3InitModule from '@sqlite.org/sqlite-wasm';
import { type LocalDocument, openDocument, type Row } from '@tandem/host-node';

const REDUCER = fileURLToPath(
  new URL('../../e2e/fixtures/two-tables-reducer/dist/reducer.wasm', import.meta.url),
);
const ROUNDS = Math.max(5, Number(process.env.BENCH_RUNS ?? 5));
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 1000);
const WARM_UP = 300;
const TODOS = 1000;
const OTHERS = 99;
const ONE_TODO = 'SELECT id, title, completed FROM todos WHERE id = ?';
const ONE_NOTE = 'SELECT id, body FROM notes WHERE id = ?';
const WATCHED = 't0';
const GOAL_P50 = { 1: 0.15, 100: 0.25 } as const;
const GOAL_P99 = 2;

type Subs = 1 | 100;

const percentile = (values: readonly number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
};
const median = (values: readonly number[]): number => percentile(values, 0.5);

let counter = 0;
const nextTitle = (): string => `title ${++counter}`;

async function openOurs(subs: Subs): Promise<{ doc: LocalDocument; sample: () => Promise<number> }> {
  const doc = await openDocument({ docId: `subscribe-${subs}`, reducer: REDUCER });
  const fill: unknown[] = [];
  for (let i = 0; i < TODOS; i++) fill.push({ type: 'todo', id: `t${i}`, title: `todo ${i}` });
  for (let i = 0; i < TODOS; i++) fill.push({ type: 'note', id: `n${i}`, body: `note ${i}` });
  await doc.mutateBatch(fill);
  let waiting: { title: string; heard: () => void } | undefined;
  doc.subscribe(ONE_TODO, [WATCHED], (rows: Row[]) => {
    if (waiting !== undefined && rows[0]?.title === waiting.title) waiting.heard();
  });
  for (let i = 0; i < subs - 1; i++) doc.subscribe(ONE_NOTE, [`n${i}`], () => undefined);
  await new Promise((resolve) => setTimeout(resolve, 0));
  const sample = async (): Promise<number> => {
    const title = nextTitle();
    let done!: () => void;
    const heard = new Promise<void>((resolve) => {
      done = resolve;
    });
    let elapsed = 0;
    const start = performance.now();
    waiting = {
      title,
      heard: () => {
        elapsed = performance.now() - start;
        done();
      },
    };
    const applied = doc.mutate({ type: 'todo', id: WATCHED, title });
    await heard;
    await applied;
    waiting = undefined;
    return elapsed;
  };
  return { doc, sample };
}

type Sqlite = Awaited<ReturnType<typeof sqlite3InitModule>>;

function openFloor(sqlite3: Sqlite): { sample: () => number; close: () => void } {
  const db = new sqlite3.oo1.DB(':memory:', 'c');
  db.exec(`PRAGMA page_size=4096; PRAGMA journal_mode=MEMORY;
    CREATE TABLE todos (id TEXT PRIMARY KEY, title TEXT NOT NULL, completed INTEGER NOT NULL, created_at INTEGER NOT NULL);
    CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT NOT NULL)`);
  const insert = db.prepare(
    'INSERT OR REPLACE INTO todos (id, title, completed, created_at) VALUES (?, ?, 0, ?)',
  );
  db.exec('BEGIN');
  for (let i = 0; i < TODOS; i++) insert.bind([`t${i}`, `todo ${i}`, 0]).stepReset();
  db.exec('COMMIT');
  const select = db.prepare(ONE_TODO);
  let sink = 0;
  const sample = (): number => {
    const title = nextTitle();
    const start = performance.now();
    db.exec('BEGIN');
    insert.bind([WATCHED, title, Date.now()]).stepReset();
    db.exec('COMMIT');
    select.bind([WATCHED]);
    const rows: Record<string, unknown>[] = [];
    while (select.step()) rows.push(select.get({}));
    select.reset();
    if (rows[0]?.title === title) sink++;
    return performance.now() - start;
  };
  return {
    sample,
    close: () => {
      if (sink === 0) throw new Error('the floor never read what it wrote');
      insert.finalize();
      select.finalize();
      db.close();
    },
  };
}

async function times(sample: () => Promise<number> | number, count: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(await sample());
  return out;
}

const sqlite3 = await sqlite3InitModule();
const ours = { 1: await openOurs(1), 100: await openOurs(100) };
const floor = openFloor(sqlite3);
for (const subs of [1, 100] as const) await times(ours[subs].sample, WARM_UP);
await times(floor.sample, WARM_UP);

type Key = `${Subs}` | 'floor';
const rounds = new Map<Key, { p50: number[]; p99: number[] }>();
const keep = (key: Key, samples: readonly number[]) => {
  const kept = rounds.get(key) ?? { p50: [], p99: [] };
  kept.p50.push(percentile(samples, 0.5));
  kept.p99.push(percentile(samples, 0.99));
  rounds.set(key, kept);
};
const runsBefore = { 1: ours[1].doc.subscriptionRuns, 100: ours[100].doc.subscriptionRuns };
// Interleaved in blocks within each round, so that the three see the same moments of a noisy machine.
const BLOCKS = 5;
for (let round = 0; round < ROUNDS; round++) {
  const samples = { '1': [] as number[], floor: [] as number[], '100': [] as number[] };
  for (let block = 0; block < BLOCKS; block++) {
    const count = Math.ceil(SAMPLES / BLOCKS);
    samples['1'].push(...(await times(ours[1].sample, count)));
    samples.floor.push(...(await times(floor.sample, count)));
    samples['100'].push(...(await times(ours[100].sample, count)));
  }
  for (const key of ['1', 'floor', '100'] as const) keep(key, samples[key]);
}
const runsPerSample = (subs: Subs) =>
  (ours[subs].doc.subscriptionRuns - runsBefore[subs]) / (ROUNDS * BLOCKS * Math.ceil(SAMPLES / BLOCKS));

const of = (key: Key, q: 'p50' | 'p99') => median(rounds.get(key)?.[q] ?? []);
console.log(
  `# mutate → subscription callback (Node ${process.version}, NODE_ENV=${process.env.NODE_ENV ?? ''}): ` +
    `median of ${ROUNDS} rounds × ${SAMPLES} samples, ${TODOS} todos, host-node in memory, load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores; ` +
    'Replicache is not in node_modules: the floor is raw sqlite-wasm (INSERT OR REPLACE in a transaction + the SELECT)',
);
for (const subs of [1, 100] as const) {
  const p50 = of(`${subs}`, 'p50');
  const p99 = of(`${subs}`, 'p99');
  const f50 = of('floor', 'p50');
  const f99 = of('floor', 'p99');
  const met = p50 <= GOAL_P50[subs] && p99 <= GOAL_P99 ? 'met' : 'NOT met';
  console.log(
    `mutate→callback ${subs} subs (node): ours p50 ${p50.toFixed(3)} / p99 ${p99.toFixed(3)} ms, ` +
      `floor p50 ${f50.toFixed(3)} / p99 ${f99.toFixed(3)} ms, ratio p50 ${(p50 / f50).toFixed(1)}× / p99 ${(p99 / f99).toFixed(1)}× ` +
      `(goal p50 ≤ ${GOAL_P50[subs]} ms, p99 ≤ ${GOAL_P99} ms: ${met}; ${runsPerSample(subs).toFixed(2)} query runs per mutation` +
      `${subs > 1 ? `, ${subs - 1} on notes` : ''})`,
  );
}
for (const subs of [1, 100] as const) await ours[subs].doc.close();
floor.close();
