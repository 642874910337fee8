// A child process for the folder-lock tests: opens a persisted document and says how that went, then
// holds it open until killed (or until its stdin closes).
//   node open-folder.js <dataDir> <docId> <reducer path>
// Prints `opened <pid>`, or `refused <error kind> <holder pid>` and exits.
import { TandemError } from '@tandem/runtime';
import { openDocument } from '../document.js';

const [dataDir, docId, reducer] = process.argv.slice(2);
if (dataDir === undefined || docId === undefined || reducer === undefined) {
  throw new Error('usage: open-folder <dataDir> <docId> <reducer>');
}
try {
  await openDocument({ docId, reducer, dataDir });
} catch (error) {
  if (!(error instanceof TandemError)) throw error;
  process.stdout.write(`refused ${error.kind} ${error.fields.holderPid ?? '-'}\n`);
  process.exit(0);
}
process.stdout.write(`opened ${process.pid}\n`);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
