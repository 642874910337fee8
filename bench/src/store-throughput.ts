// The coordinator's stores side by side (issue 13, must-show 5): confirmed mutations/s on the file store
// (a data folder, fsync) and on PostgreSQL (a private cluster on this machine, fsync on), for 1 and for
// 30 documents, and the bytes each store holds per confirmed mutation.
// - The coordinator runs as its bin in its own process (`--data` or `--store`), one per measurement on a
//   fresh folder or database; the raw pushers (raw-pusher.ts: MAX_PUSHES_IN_FLIGHT one-mutation pushes in
//   flight per connection) run here, PUSHERS connections spread evenly over the documents.
// - Rounds alternate the four configurations; each line is the median of the rounds.
// - Bytes per mutation: the data folder's files (du), or the frames and images tables' total relation
//   size (with TOAST and indexes), over the mutations confirmed into them.
//
// Usage: node dist/store-throughput.js  (BENCH_RUNS rounds, 5 by default; STORE_SECONDS per measurement, 3)
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPostgresCluster } from '@tandem/coordinator/testing/postgres';
import pg from 'pg';
import { pusher } from './raw-pusher.js';
import { median, report } from './report.js';

const TODO = fileURLToPath(new URL('../../reducers/todo/dist/reducer.wasm', import.meta.url));
const BIN = fileURLToPath(new URL('../../coordinator/bin/tandem-coordinator.js', import.meta.url));
const ROUNDS = Math.max(5, Number(process.env.BENCH_RUNS ?? 5));
const SECONDS = Number(process.env.STORE_SECONDS ?? 3);
const PUSHERS = 30;

type Store = 'files' | 'postgres';
interface Measured {
  readonly perSecond: number;
  readonly bytesPerMutation: number;
}

const cluster = await startPostgresCluster();
let databases = 0;

/** Starts the bin; resolves with its URL and reducer hash once it listens. */
async function startBin(
  args: readonly string[],
): Promise<{ child: ChildProcess; url: string; hash: string }> {
  const child = spawn(process.execPath, [BIN, '--reducer', TODO, '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, TANDEM_LOG_LEVEL: 'error' },
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const found = /listening on (http:\/\/\S+)/.exec(output);
      if (found?.[1] !== undefined) resolve(found[1]);
    });
    child.once('exit', (code) => reject(new Error(`coordinator exited with ${code}: ${output}`)));
  });
  const { sha256 } = (await (await fetch(`${url}/reducers/current`)).json()) as { sha256: string };
  return { child, url, hash: sha256 };
}

async function measure(store: Store, documents: number): Promise<Measured> {
  const folder = store === 'files' ? await mkdtemp(join(tmpdir(), 'tandem-store-bench-')) : undefined;
  const database = store === 'postgres' ? cluster.createDatabase(`bench_${databases++}`) : undefined;
  const { child, url, hash } = await startBin(
    folder !== undefined ? ['--data', folder] : ['--store', database!],
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    const sync = `${url.replace(/^http/, 'ws')}/sync`;
    const pushers = await Promise.all(
      Array.from({ length: PUSHERS }, (_, i) => pusher(sync, false, hash, `doc-${i % documents}`)),
    );
    const start = performance.now();
    await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
    const confirmed = pushers.reduce((n, p) => n + p.confirmed(), 0);
    const seconds = (performance.now() - start) / 1000;
    for (const p of pushers) p.stop();
    // Everything confirmed is in the store once the coordinator has closed (SIGTERM: a graceful close).
    child.kill('SIGTERM');
    await exited;
    return {
      perSecond: confirmed / seconds,
      bytesPerMutation: (await storedBytes(folder, database)) / confirmed,
    };
  } finally {
    child.kill('SIGKILL');
    if (folder !== undefined) await rm(folder, { recursive: true, force: true });
  }
}

async function storedBytes(folder: string | undefined, database: string | undefined): Promise<number> {
  if (folder !== undefined)
    return Number(execFileSync('du', ['-sb', folder], { encoding: 'utf8' }).split('\t')[0]);
  const client = new pg.Client({ connectionString: database });
  await client.connect();
  try {
    const sizes = await client.query<{ bytes: string }>(
      "SELECT pg_total_relation_size('frames') + pg_total_relation_size('images') AS bytes",
    );
    return Number(sizes.rows[0]?.bytes ?? 0);
  } finally {
    await client.end();
  }
}

const configurations: { store: Store; documents: number }[] = [
  { store: 'files', documents: 1 },
  { store: 'postgres', documents: 1 },
  { store: 'files', documents: 30 },
  { store: 'postgres', documents: 30 },
];
const results = new Map(configurations.map((c) => [c, [] as Measured[]]));
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const configuration of configurations) {
      results.get(configuration)!.push(await measure(configuration.store, configuration.documents));
    }
  }
} finally {
  await cluster.destroy();
}
const load = loadavg()[0]!.toFixed(1);
for (const documents of [1, 30]) {
  const files = results.get(configurations.find((c) => c.store === 'files' && c.documents === documents)!)!;
  const postgres = results.get(
    configurations.find((c) => c.store === 'postgres' && c.documents === documents)!,
  )!;
  const filesRate = median(files.map((m) => m.perSecond));
  const postgresRate = median(postgres.map((m) => m.perSecond));
  const detail = `${PUSHERS} pushers, ${ROUNDS} rounds of ${SECONDS} s, load ${load}`;
  report(`confirmed mutations/s, ${documents} doc(s), files`, filesRate, '/s', detail);
  report(
    `confirmed mutations/s, ${documents} doc(s), PostgreSQL`,
    postgresRate,
    '/s',
    `${detail}; ${(postgresRate / filesRate).toFixed(2)}x files`,
  );
  report(
    `stored bytes per mutation, ${documents} doc(s), files`,
    median(files.map((m) => m.bytesPerMutation)),
    'B',
  );
  report(
    `stored bytes per mutation, ${documents} doc(s), PostgreSQL`,
    median(postgres.map((m) => m.bytesPerMutation)),
    'B',
    'frames + images tables with TOAST and indexes',
  );
}
