// A child process for the SIGKILL test: mutates a persisted todo document in a loop and prints the
// lsn of each mutation as soon as its `mutate` resolves, until it is killed.
//   node mutate-loop.js <dataDir> <docId> <reducer path> <first id>
import { openDocument } from '../document.js';

const [dataDir, docId, reducer, first] = process.argv.slice(2);
if (dataDir === undefined || docId === undefined || reducer === undefined || first === undefined) {
  throw new Error('usage: mutate-loop <dataDir> <docId> <reducer> <first id>');
}
const doc = await openDocument({ docId, reducer, dataDir });
process.stdout.write(`opened ${doc.replayed}\n`);
// A few mutations in flight at once, as an app issuing them without awaiting would have.
for (let i = Number(first); ; i += 4) {
  const batch = [0, 1, 2, 3].map((k) =>
    doc.mutate({ type: 'create', id: `t${i + k}`, title: `todo ${i + k}` }).then(() => {
      process.stdout.write(`resolved t${i + k}\n`);
    }),
  );
  await Promise.all(batch);
}
