// The builds `npm run build` makes after TypeScript (the todo reducer, its app, every fixture reducer),
// two at a time: none reads another's output (the app does not bundle the reducer). Each `tandem build`
// is one process busy on one core (asc, binaryen, jco) for 10-25 s, and this machine has two; one after
// the other they were most of a clean build's time.
import { spawn } from 'node:child_process';

const STEPS = [
  ['tandem', 'build', 'reducers/todo'],
  ['vite', 'build', 'reducers/todo/app'],
  ...[
    'e2e/fixtures/entropy-reducer',
    'e2e/fixtures/limits-reducer',
    'e2e/fixtures/two-tables-reducer',
    'e2e/fixtures/todo-v1-reducer',
    'e2e/fixtures/todo-v2-unique-titles-reducer',
    'e2e/fixtures/todo-v3-reducer',
    'bench/fixtures/kv-reducer',
  ].map((dir) => ['tandem', 'build', dir]),
];
const LANES = 2;

function step([bin, ...args]) {
  return new Promise((resolve, reject) => {
    // npm puts node_modules/.bin on its scripts' PATH, so `tandem` and `vite` resolve there.
    const child = spawn(bin, args, { stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`${bin} ${args.join(' ')} failed (${code ?? signal})`)),
    );
  });
}

const queue = [...STEPS];
async function lane() {
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) await step(next);
}

const failed = (await Promise.allSettled(Array.from({ length: LANES }, lane))).filter(
  (result) => result.status === 'rejected',
);
for (const { reason } of failed)
  console.error(`✗ ${reason instanceof Error ? reason.message : String(reason)}`);
if (failed.length > 0) process.exit(1);
