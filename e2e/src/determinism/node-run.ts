// A separate Node process for the determinism test: `node node-run.js <reducer.wasm> <workload.json>`
// prints the run's result as one JSON line.
import { readFile } from 'node:fs/promises';
import { runInNode } from './run.js';
import { fromJson, type JsonWorkload } from './workload.js';

const [reducerPath, workloadPath] = process.argv.slice(2);
if (reducerPath === undefined || workloadPath === undefined) {
  console.error('usage: node-run <reducer.wasm> <workload.json>');
  process.exit(2);
}
const workload = JSON.parse(await readFile(workloadPath, 'utf8')) as JsonWorkload;
process.stdout.write(`${JSON.stringify(await runInNode(reducerPath, fromJson(workload)))}\n`);
