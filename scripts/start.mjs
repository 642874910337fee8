// `npm start`: builds the todo reducer and runs it in a local document, printing what was applied
// and what was rejected (the coordinator and the demo app take over this command once they exist).
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
