// host-node loads `ws` (~75 ms of CPU) only when a document first connects to a coordinator
// (lazy-socket.ts): a process that boots a document and answers a query never pays for it.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';
import { LazySocket } from './lazy-socket.js';
import { TODO_REDUCER } from './testing/paths.js';

const run = promisify(execFile);
const HOST_NODE = new URL('../dist/index.js', import.meta.url).href;

test('a process that opens a document and queries it without a coordinator never imports ws', async () => {
  const scratch = await mkdtemp(join(tmpdir(), 'tandem-lazy-socket-'));
  try {
    const hooks = join(scratch, 'hooks.mjs');
    await writeFile(
      hooks,
      `export async function resolve(specifier, context, next) {
        if (specifier === 'ws') throw new Error('ws was imported');
        return next(specifier, context);
      }`,
    );
    const register = join(scratch, 'register.mjs');
    await writeFile(
      register,
      `import { register } from 'node:module'; register(${JSON.stringify(`file://${hooks}`)});`,
    );
    const script = `
      const { openDocument } = await import(${JSON.stringify(HOST_NODE)});
      const doc = await openDocument({ docId: 'd', reducer: ${JSON.stringify(TODO_REDUCER)}, dataDir: ${JSON.stringify(scratch)} });
      await doc.mutate({ type: 'create', id: 'a', title: 'milk' });
      const rows = await doc.query('SELECT title FROM todos');
      await doc.close();
      process.stdout.write(JSON.stringify(rows));
    `;
    const { stdout } = await run(process.execPath, [
      '--import',
      register,
      '--input-type=module',
      '-e',
      script,
    ]);
    expect(JSON.parse(stdout)).toEqual([{ title: 'milk' }]);
    await expect(
      run(process.execPath, ['--import', register, '--input-type=module', '-e', "await import('ws')"]),
      'the hook refuses ws',
    ).rejects.toThrow(/ws was imported/);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}, 30_000);

test('a socket closed before ws loaded reports its close and never connects', async () => {
  const socket = new LazySocket('ws://127.0.0.1:9/never', { maxPayload: 1024 });
  const heard: string[] = [];
  socket.addEventListener('open', () => heard.push('open'));
  socket.addEventListener('close', () => heard.push('close'));
  expect(socket.readyState).toBe(0);
  socket.close();
  expect(socket.readyState).toBe(3);
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(heard).toEqual(['close']);
});
