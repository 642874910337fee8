// `npm start`: builds the todo reducer, runs it in a local document (printing what was applied and what
// was rejected), then starts the coordinator serving it — data in ./data — and syncs a client through it.
// The demo web app joins this command once it exists.
import { build, ensureDependencies } from './ensure.mjs';

ensureDependencies();
build();

const { openDocument } = await import('@tandem/host-node');
const doc = await openDocument({ docId: 'demo', reducer: 'reducers/todo/dist/reducer.wasm' });
console.log(
  `\nopened document "demo" (schema ${doc.migration.fromVersion} → ${doc.migration.toVersion}), timeline ${doc.timelineId}\n`,
);

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

const todos = await doc.query('SELECT id, title, completed, created_at FROM todos ORDER BY created_at, id');
console.log('\ntodos:');
console.table(todos);
console.log(`page hash ${await doc.pageHash()}`);
await doc.close();

const { startCoordinator } = await import('@tandem/coordinator');
const port = Number(process.env.PORT ?? 8787);
const coordinator = await startCoordinator({
  reducer: 'reducers/todo/dist/reducer.wasm',
  dataDir: process.env.TANDEM_DATA ?? 'data',
  port,
});
const syncUrl = `${coordinator.url.replace('http', 'ws')}/sync`;
console.log(
  `\ncoordinator on ${coordinator.url} (sync at ${syncUrl}, /health, /metrics), documents in ./data`,
);

const client = await openDocument({
  docId: 'shared',
  reducer: 'reducers/todo/dist/reducer.wasm',
  coordinatorUrl: syncUrl,
});
const id = `todo-${Date.now()}`;
const made = await client.mutate({ type: 'create', id, title: 'Synced through the coordinator' });
console.log(
  `client mutation lsn ${made.lsn}: ${made.status} locally, ${(await client.fate(made.lsn)).status} by the coordinator`,
);
await client.synced();
const count = (await client.query('SELECT count(*) AS n FROM todos'))[0]?.n;
console.log(
  `document "shared" now holds ${count} todo(s), coordinator page hash ${await coordinator.pageHash('shared')}`,
);
await client.close();
console.log('\nthe coordinator keeps running (Ctrl-C stops it)');

const stop = async () => {
  await coordinator.close();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
