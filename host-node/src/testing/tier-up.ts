// A child process for sqlite-boot.test.ts, run with --trace-wasm-compilation-times: opens an in-memory
// todo document and answers a query, stays idle for a second (a recompile started by the open would
// end there), then reduces 2,000 todo creates and waits for their recompiles. Prints a line at each
// step, between V8's trace lines. With `warm`, only opens and closes (the reducer gets prepared into the
// cache, as after `tandem build`).
//   node tier-up.js <reducer path> [warm]
import { setTimeout as sleep } from 'node:timers/promises';
import { openDocument } from '../document.js';

const [reducer, warm] = process.argv.slice(2);
if (reducer === undefined) throw new Error('usage: tier-up <reducer> [warm]');
const doc = await openDocument({ docId: 'tier-up', reducer });
if (warm === 'warm') {
  await doc.close();
  process.exit(0);
}
await doc.query('SELECT count(*) AS n FROM todos');
process.stdout.write('answered\n');
await sleep(1000);
process.stdout.write('idle\n');
for (let batch = 0; batch < 2; batch++) {
  await doc.mutateBatch(
    Array.from({ length: 1000 }, (_, k) => ({ type: 'create', id: `t${batch}-${k}`, title: `todo ${k}` })),
  );
}
await sleep(1500);
process.stdout.write('worked\n');
await doc.close();
