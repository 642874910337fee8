// Mutate → subscription callback in Node (issue 10, must-show 5): a host-node document in memory, one
// subscription on one todo (the shape of a peer's `get` subscription), then the same with 99 more
// subscriptions on notes, which the mutation never writes, and one subscription over a table of 30,000
// todos (what a change costs should not grow with the table). Each sample times `mutate` until the listener
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
const BIG = Number(process.env.BENCH_BIG_TODOS ?? 30_000);
const ONE_TODO = 'SELECT id, title, completed FROM todos WHERE id = ?';
const ONE_NOTE = 'SELECT id, body FROM notes WHERE id = ?';
const WATCHED = 't0';
const GOAL_P99 = 2;
/** Interleaved in blocks within each round, so that every case sees the same moments of a noisy machine. */
const BLOCKS = 5;

interface Case {
  readonly subs: number;
  readonly todos: number;
  readonly goalP50: number;
}
const CASES: readonly Case[] = [
  { subs: 1, todos: 1000, goalP50: 0.15 },
  { subs: 100, todos: 1000, goalP50: 0.25 },
  { subs: 1, todos: BIG, goalP50: 0.15 },
];

const percentile = (values: readonly number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
};
const median = (values: readonly number[]): number => percentile(values, 0.5);

let counter = 0;
const nextTitle = (): string => `title ${++counter}`;

interface Side {
  sample(): Promise<number> | number;
  runs(): number;
  close(): Promise<void> | void;
}

async function openOurs({ subs, todos }: Case, name: string): Promise<Side> {
  const doc: LocalDocument = await openDocument({ docId: `subscribe-${name}`, reducer: REDUCER });
  for (let from = 0; from < todos; from += 5000) {
    const fill: unknown[] = [];
    for (let i = from; i < Math.min(todos, from + 5000); i++) {
      fill.push(
        { type: 'todo', id: `t${i}`, title: `todo ${i}` },
        { type: 'note', id: `n${i}`, body: `note ${i}` },
      );
    }
    await doc.mutateBatch(fill);
  }
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
  return { sample, runs: () => doc.subscriptionRuns, close: () => doc.close() };
}

type Sqlite = Awaited<ReturnType<typeof sqlite3InitModule>>;

function openFloor(sqlite3: Sqlite, todos: number): Side {
  const db = new sqlite3.oo1.DB(':memory:', 'c');
  db.exec(`PRAGMA page_size=4096; PRAGMA journal_mode=MEMORY;
    CREATE TABLE todos (id TEXT PRIMARY KEY, title TEXT NOT NULL, completed INTEGER NOT NULL, created_at INTEGER NOT NULL);
    CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT NOT NULL)`);
  const insert = db.prepare(
    'INSERT OR REPLACE INTO todos (id, title, completed, created_at) VALUES (?, ?, 0, ?)',
  );
  const note = db.prepare('INSERT INTO notes (id, body) VALUES (?, ?)');
  db.exec('BEGIN');
  for (let i = 0; i < todos; i++) {
    insert.bind([`t${i}`, `todo ${i}`, 0]).stepReset();
    note.bind([`n${i}`, `note ${i}`]).stepReset();
  }
  db.exec('COMMIT');
  note.finalize();
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
    runs: () => 0,
    close: () => {
      if (sink === 0) throw new Error('the floor never read what it wrote');
      insert.finalize();
      select.finalize();
      db.close();
    },
  };
}

async function times(side: Side, count: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(await side.sample());
  return out;
}

const sqlite3 = await sqlite3InitModule();
const sides = new Map<string, Side>();
for (const [i, c] of CASES.entries()) sides.set(`ours ${i}`, await openOurs(c, String(i)));
for (const todos of new Set(CASES.map((c) => c.todos)))
  sides.set(`floor ${todos}`, openFloor(sqlite3, todos));
for (const side of sides.values()) await times(side, WARM_UP);

const rounds = new Map<string, { p50: number[]; p99: number[] }>();
const runsBefore = new Map([...sides].map(([key, side]) => [key, side.runs()]));
const perBlock = Math.ceil(SAMPLES / BLOCKS);
for (let round = 0; round < ROUNDS; round++) {
  const samples = new Map<string, number[]>();
  for (let block = 0; block < BLOCKS; block++) {
    for (const [key, side] of sides)
      samples.set(key, [...(samples.get(key) ?? []), ...(await times(side, perBlock))]);
  }
  for (const [key, values] of samples) {
    const kept = rounds.get(key) ?? { p50: [], p99: [] };
    kept.p50.push(percentile(values, 0.5));
    kept.p99.push(percentile(values, 0.99));
    rounds.set(key, kept);
  }
}
const of = (key: string, q: 'p50' | 'p99') => median(rounds.get(key)?.[q] ?? []);

console.log(
  `# mutate → subscription callback (Node ${process.version}, NODE_ENV=${process.env.NODE_ENV ?? ''}): ` +
    `median of ${ROUNDS} rounds × ${perBlock * BLOCKS} samples, host-node in memory, load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores; ` +
    'Replicache is not in node_modules: the floor is raw sqlite-wasm (INSERT OR REPLACE in a transaction + the SELECT) over as many todos',
);
for (const [i, { subs, todos, goalP50 }] of CASES.entries()) {
  const ours = `ours ${i}`;
  const floor = `floor ${todos}`;
  const [p50, p99, f50, f99] = [of(ours, 'p50'), of(ours, 'p99'), of(floor, 'p50'), of(floor, 'p99')];
  const met = p50 <= goalP50 && p99 <= GOAL_P99 ? 'met' : 'NOT met';
  const runs = (sides.get(ours)!.runs() - runsBefore.get(ours)!) / (ROUNDS * perBlock * BLOCKS);
  console.log(
    `mutate→callback ${subs} subs${todos === 1000 ? '' : `, ${todos} todos`} (node): ours p50 ${p50.toFixed(3)} / p99 ${p99.toFixed(3)} ms, ` +
      `floor p50 ${f50.toFixed(3)} / p99 ${f99.toFixed(3)} ms, ratio p50 ${(p50 / f50).toFixed(1)}× / p99 ${(p99 / f99).toFixed(1)}× ` +
      `(goal p50 ≤ ${goalP50} ms, p99 ≤ ${GOAL_P99} ms: ${met}; ${todos} todos, ${runs.toFixed(2)} query runs per mutation` +
      `${subs > 1 ? `, ${subs - 1} subscriptions on notes` : ''})`,
  );
}
for (const side of sides.values()) await side.close();
