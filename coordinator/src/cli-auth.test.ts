// `tandem-coordinator --auth ./auth.mjs` (finding 6 of issue 8): the CLI loads an authorize hook.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { parseArguments } from './cli.js';
import { TestSyncClient } from './testing/sync-client.js';

const reducer = fileURLToPath(new URL('../../reducers/todo/dist/reducer.wasm', import.meta.url));
const bin = fileURLToPath(new URL('../bin/tandem-coordinator.js', import.meta.url));
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'tandem-auth-'));
  await writeFile(
    join(scratch, 'auth.mjs'),
    "export default (docId, token) => token === 'open-sesame' && docId.startsWith('team-');\n",
  );
  await writeFile(
    join(scratch, 'named.mjs'),
    "export const authorize = async (_d, token) => token === 'named';\n",
  );
  await writeFile(join(scratch, 'truthy.mjs'), "export default () => 'yes';\n");
  await writeFile(join(scratch, 'none.mjs'), 'export const answer = 42;\n');
  await writeFile(join(scratch, 'broken.mjs'), 'export default (;\n');
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

test('--auth takes the default export, or the one named authorize, and grants only on true', async () => {
  const options = await parseArguments(['--reducer', reducer, '--auth', join(scratch, 'auth.mjs')]);
  expect(await options.authorize?.('team-a', 'open-sesame', 't')).toBe(true);
  expect(await options.authorize?.('team-a', 'wrong', 't')).toBe(false);
  expect(await options.authorize?.('other', 'open-sesame', 't')).toBe(false);
  const named = await parseArguments(['--reducer', reducer, '--auth', join(scratch, 'named.mjs')]);
  expect(await named.authorize?.('d', 'named', 't')).toBe(true);
  const truthy = await parseArguments(['--reducer', reducer, '--auth', join(scratch, 'truthy.mjs')]);
  expect(await truthy.authorize?.('d', null, 't')).toBe(false);
});

test.each([
  ['no-such.mjs', /--auth .*no-such\.mjs: the module failed to load/],
  ['broken.mjs', /--auth .*broken\.mjs: the module failed to load/],
  ['none.mjs', /--auth .*none\.mjs: the module exports no authorize function/],
])('an --auth module %s that cannot serve stops the CLI with a message naming it', async (file, message) => {
  await expect(parseArguments(['--reducer', reducer, '--auth', join(scratch, file)])).rejects.toThrow(
    message,
  );
});

test('the bin with --auth refuses a bad token and serves a good one', async () => {
  const data = join(scratch, 'data');
  const child = spawn(
    process.execPath,
    [bin, '--reducer', reducer, '--data', data, '--port', '0', '--auth', join(scratch, 'auth.mjs')],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  try {
    let output = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const found = /listening on (http:\/\/\S+)/.exec(output);
        if (found?.[1] !== undefined) resolve(found[1]);
      });
      child.once('exit', (code) => reject(new Error(`exited with ${code}: ${output}`)));
    });
    const refused = await TestSyncClient.connect(url, { docId: 'team-a', token: 'guess' });
    expect((await refused.closed).code).toBe(1008);
    expect(refused.received).toMatchObject([{ type: 'error', kind: 'unauthorized' }]);
    const granted = await TestSyncClient.connect(url, { docId: 'team-a', token: 'open-sesame' });
    // A fresh process opens its first document slowly on a loaded machine: wait longer than next() does.
    const deadline = Date.now() + 30_000;
    while (!granted.received.some((m) => m.type === 'welcome') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(granted.received[0]).toMatchObject({ type: 'welcome' });
    await granted.close();
  } finally {
    child.kill('SIGKILL');
  }
});

test('the bin stops before listening when its --auth module exports no function', async () => {
  const child = spawn(
    process.execPath,
    [
      bin,
      '--reducer',
      reducer,
      '--data',
      join(scratch, 'data2'),
      '--port',
      '0',
      '--auth',
      join(scratch, 'none.mjs'),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  expect(code).toBe(2);
  expect(stdout).not.toMatch(/listening/);
  expect(stderr).toMatch(/--auth .*none\.mjs: the module exports no authorize function/);
});
