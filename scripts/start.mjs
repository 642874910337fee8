// `npm start`: builds the todo reducer and its app, starts the coordinator serving the app at
// http://localhost:8787/ (PORT to change it; documents in ./data, or TANDEM_DATA) and prints that URL
// first, then the data folder it uses. A port already taken (a second npm start) is said at once, before
// the build, with how to pick another, and exits 1. Then a scripted run in the console: the reducer in a local document (what was applied and what
// rejected) and a client syncing through the coordinator. Serves until Ctrl-C.
import { resolve } from 'node:path';
import { build, ensureDependencies } from './ensure.mjs';
import { checkPortFree, closeOnSignals, DEFAULT_PORT, REDUCER, serveApp } from './serve-app.mjs';

/** Says why `npm start` cannot go on, without a stack, and exits non-zero. */
function fail(error) {
  console.error(`✗ ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

const port = Number(process.env.PORT ?? DEFAULT_PORT);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  fail(`PORT=${process.env.PORT} is not a port number (0-65535; 0 picks a free one)`);
}
// Before the build (minutes on a slow machine): a second npm start finds out at once.
await checkPortFree(port).catch(fail);
ensureDependencies();
console.error('• building the todo reducer and app…');
build({ quiet: true });

// The coordinator's JSON log lines would bury the URL; TANDEM_LOG_LEVEL=info brings them back.
process.env.TANDEM_LOG_LEVEL ??= 'warn';
const dataDir = resolve(process.env.TANDEM_DATA ?? 'data');
const coordinator = await serveApp({ port, dataDir }).catch(fail);
closeOnSignals(coordinator);
console.log(`Todo demo: http://localhost:${coordinator.port}/   (Ctrl-C stops it)\n`);
const syncUrl = `ws://localhost:${coordinator.port}/sync`;
console.log(
  `coordinator: sync at ${syncUrl}, /health, /metrics; documents in ${dataDir} (TANDEM_DATA to change it); another list: /?doc=NAME\n`,
);

const { openDocument } = await import('@tandem/host-node');
console.log('A scripted run of the todo reducer in a local document (in memory):');
const doc = await openDocument({ docId: 'demo', reducer: REDUCER });
const script = [
  { type: 'create', id: 'milk', title: 'Buy milk' },
  { type: 'create', id: 'docs', title: 'Write the reducer guide' },
  { type: 'create', id: 'empty', title: '' },
  { type: 'toggle', id: 'milk' },
  { type: 'rename', id: 'docs', title: 'Write the reducer guide, with the todo example' },
  { type: 'toggle', id: 'nope' },
  { type: 'create', id: 'milk', title: 'Buy milk again' },
  { type: 'fly', id: 'milk' },
  new TextEncoder().encode('{"type": "create", '),
  { type: 'clearCompleted' },
];
const results = await doc.mutateBatch(script);
results.forEach((result, i) => {
  const m = script[i];
  const shown =
    m instanceof Uint8Array ? `bytes ${JSON.stringify(new TextDecoder().decode(m))}` : JSON.stringify(m);
  const verdict = result.status === 'applied' ? 'applied ' : `rejected (${result.reason})`;
  console.log(`  lsn ${String(result.lsn).padStart(2)}  ${verdict.padEnd(40)} ${shown}`);
});
const todos = await doc.query(
  'SELECT id, title, completed, created_at FROM todos ORDER BY created_at, rowid',
);
console.table(todos);
await doc.close();

const client = await openDocument({ docId: 'shared', reducer: REDUCER, coordinatorUrl: syncUrl });
const made = await client.mutate({
  type: 'create',
  id: `todo-${Date.now()}`,
  title: 'Synced through the coordinator',
});
console.log(
  `\nA client of document "shared": mutation lsn ${made.lsn} ${made.status} locally, ${(await client.fate(made.lsn)).status} by the coordinator`,
);
await client.synced();
const count = (await client.query('SELECT count(*) AS n FROM todos'))[0]?.n;
console.log(
  `document "shared" holds ${count} todo(s), coordinator page hash ${await coordinator.pageHash('shared')}`,
);
await client.close();
console.log(`\nServing the todo demo at http://localhost:${coordinator.port}/ until Ctrl-C`);
