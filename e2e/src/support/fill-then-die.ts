// The child of the reopen-after-kill test (`node host-node/src/testing/run-ts.mjs fill-then-die.ts
// <dataDir> <docId> <reducer> <coordinator url> <count>`): fills a synced todo document, waits until
// the coordinator took everything, prints `synced`, lets a second pass, then SIGKILLs itself — a tab
// or process that ends without `close`.
import { openDocument } from '@tandem/host-node';

const [dataDir, docId, reducer, coordinatorUrl, count] = process.argv.slice(3);
if (dataDir === undefined || docId === undefined || reducer === undefined || coordinatorUrl === undefined)
  throw new Error('usage: fill-then-die <dataDir> <docId> <reducer> <coordinator url> <count>');
const doc = await openDocument({ docId, reducer, dataDir, coordinatorUrl, sync: { backoffMs: 20 } });
for (let from = 0; from < Number(count); from += 100) {
  const batch = Array.from({ length: 100 }, (_, k) => ({
    type: 'create',
    id: `t${from + k}`,
    title: `todo ${from + k}`,
  }));
  await doc.mutateBatch(batch);
}
await doc.synced();
process.stdout.write('synced\n');
setTimeout(() => process.kill(process.pid, 'SIGKILL'), 1000);
