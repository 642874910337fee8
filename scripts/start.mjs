// `npm start`: builds the todo reducer and its app, starts the coordinator serving the app at
// http://localhost:8787/ (PORT to change it; documents in ./data, or TANDEM_DATA) and prints that URL
// first. Then a scripted run in the console: the reducer in a local document (what was applied and what
// rejected) and a client syncing through the coordinator. Serves until Ctrl-C.
import { isAbsolute } from 'node:path';
import { build, ensureDependencies } from './ensure.mjs';
import { closeOnSignals, DEFAULT_PORT, REDUCER, serveApp } from './serve-app.mjs';

ensureDependencies();
console.error('• building the todo reducer and app…');
build({ quiet: true });

// The coordinator's JSON log lines would bury the URL; TANDEM_LOG_LEVEL=info brings them back.
process.env.TANDEM_LOG_LEVEL ??= 'warn';
const port = Number(process.env.PORT ?? DEFAULT_PORT);
const dataDir = process.env.TANDEM_DATA ?? 'data';
let coordinator;
try {
  coordinator = await serveApp({ port, dataDir });
} catch (error) {
  console.error(`✗ ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
closeOnSignals(coordinator);
console.log(`Todo demo: http://localhost:${coordinator.port}/   (Ctrl-C stops it)\n`);
const syncUrl = `ws://localhost:${coordinator.port}/sync`;
const shownDataDir = isAbsolute(dataDir) ? dataDir : `./${dataDir}`;
console.log(
  `coordinator: sync at ${syncUrl}, /health, /metrics; documents in ${shownDataDir}; another list: /?doc=NAME\n`,
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
