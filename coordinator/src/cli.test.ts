import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { MIN_PROTOCOL_VERSION, PROTOCOL_VERSION, WORLD_PACKAGE } from '@tandem/runtime';
import { expect, test, vi } from 'vitest';
import { main, parseArguments } from './cli.js';
import { TestSyncClient } from './testing/sync-client.js';

const reducer = fileURLToPath(new URL('../../reducers/todo/dist/reducer.wasm', import.meta.url));
const bin = fileURLToPath(new URL('../bin/tandem-coordinator.js', import.meta.url));

test('arguments default to ./data, port 8787 and 127.0.0.1', async () => {
  expect(await parseArguments(['--reducer', reducer])).toEqual({
    reducer,
    dataDir: './data',
    port: 8787,
    host: '127.0.0.1',
  });
});

test('--store takes a PostgreSQL URL instead of the data folder', async () => {
  const store = 'postgres://tandem@127.0.0.1:5432/tandem';
  expect(await parseArguments(['--reducer', reducer, '--store', store])).toEqual({
    reducer,
    store,
    port: 8787,
    host: '127.0.0.1',
  });
});

test('--workers and --checkpoint-every set the worker threads and the frames between checkpoints', async () => {
  expect(
    await parseArguments(['--reducer', reducer, '--workers', '1', '--checkpoint-every', '100']),
  ).toMatchObject({
    workers: 1,
    checkpointEvery: 100,
  });
});

test.each([
  [['--reducer', reducer, '--workers', '0'], /--workers 0: expected a whole number of at least 1/],
  [['--reducer', reducer, '--checkpoint-every', 'x'], /--checkpoint-every x: expected a whole number/],
  [['--reducer', reducer, '--store', 'mysql://x'], /--store mysql:\/\/x: expected a postgres:\/\/ URL/],
  [['--reducer', reducer, '--store', 'postgres://x/y', '--data', 'd'], /--store and --data/],
  [[], /--reducer <file.wasm> is required/],
  [['--reducer', '/no/such.wasm'], /--reducer \/no\/such.wasm: no such file/],
  [['--reducer', reducer, '--port', 'http'], /--port http: expected an integer/],
  [['--reducer', reducer, '--port', '70000'], /--port 70000/],
  [['--reducer', reducer, '--port', '-1'], /--port/],
  [['--reducer', reducer, '--static', '/no/such/folder'], /--static \/no\/such\/folder: no such folder/],
  [['--reducer', reducer, '--colour'], /Unknown option '--colour'/],
  [['--reducer', reducer, 'extra'], /extra/],
])('bad arguments %j are refused with a message naming the flag', async (argv, message) => {
  await expect(parseArguments(argv)).rejects.toThrow(message);
});

test('--version and -v print the package version, the sync protocol and the reducer world, and exit 0', async () => {
  const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  const line = `@tandem/coordinator ${pkg.version} (sync protocol v${PROTOCOL_VERSION}, clients from v${MIN_PROTOCOL_VERSION}; runs ${WORLD_PACKAGE} reducers)\n`;
  // Through the bin (execFile rejects on a non-zero exit), and -v in this process (a second bin start
  // would cost seconds on a loaded machine and claim nothing more).
  expect(await promisify(execFile)(process.execPath, [bin, '--version'])).toEqual({
    stdout: line,
    stderr: '',
  });
  let stdout = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  try {
    expect(await main(['-v'])).toBe(0);
  } finally {
    vi.restoreAllMocks();
  }
  expect(stdout).toBe(line);
});

test('the operator token comes from --operator-token-file, else TANDEM_OPERATOR_TOKEN; a short one is refused', async () => {
  const scratch = await mkdtemp(join(tmpdir(), 'tandem-token-'));
  try {
    const file = join(scratch, 'token');
    await writeFile(file, 'a-token-from-the-file\nignored\n');
    const env = { TANDEM_OPERATOR_TOKEN: 'a-token-from-the-environment' };
    expect(await parseArguments(['--reducer', reducer, '--operator-token-file', file], env)).toMatchObject({
      operatorToken: 'a-token-from-the-file',
    });
    expect(await parseArguments(['--reducer', reducer], env)).toMatchObject({
      operatorToken: 'a-token-from-the-environment',
    });
    expect(await parseArguments(['--reducer', reducer], {})).not.toHaveProperty('operatorToken');
    await expect(parseArguments(['--reducer', reducer], { TANDEM_OPERATOR_TOKEN: 'short' })).rejects.toThrow(
      /TANDEM_OPERATOR_TOKEN: an operator token has at least 16 characters/,
    );
    await writeFile(file, '\n');
    await expect(parseArguments(['--reducer', reducer, '--operator-token-file', file], env)).rejects.toThrow(
      /--operator-token-file .*: an operator token has at least 16 characters/,
    );
    await expect(
      parseArguments(['--reducer', reducer, '--operator-token-file', join(scratch, 'none')], env),
    ).rejects.toThrow(/--operator-token-file .*none: ENOENT/);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
});

test('the bin prints its URL, serves sync, keeps its data on disk, and closes on SIGTERM', async () => {
  const data = await mkdtemp(join(tmpdir(), 'tandem-bin-'));
  const child = spawn(process.execPath, [bin, '--reducer', reducer, '--data', data, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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
    const client = await TestSyncClient.connect(url, { docId: 'from-the-bin' });
    await client.next('welcome');
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect((await client.closed).code).toBe(1001);
    expect((await readdir(data)).length).toBeGreaterThan(0);
  } finally {
    child.kill('SIGKILL');
    await rm(data, { recursive: true, force: true });
  }
});

test.each([
  ['text', new TextEncoder().encode('not a reducer\n'), /\(not-wasm\): not a WebAssembly binary/],
  ['a core module', Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00), /not a component/],
])(
  'a reducer file it cannot load (%s) is named in the refusal, which exits 2 without listening',
  async (_, bytes, why) => {
    const folder = await mkdtemp(join(tmpdir(), 'tandem-bad-reducer-'));
    let stdout = '';
    let stderr = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      stdout += String(chunk);
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      stderr += String(chunk);
      return true;
    });
    try {
      const file = join(folder, 'reducer.wasm');
      await writeFile(file, bytes);
      const code = await main([
        '--reducer',
        file,
        '--data',
        join(folder, 'data'),
        '--port',
        '0',
        '--log-level',
        'silent',
      ]);
      expect(code).toBe(2);
      expect(stdout).not.toMatch(/listening/);
      expect(stderr).toContain(`tandem-coordinator: cannot load the reducer ${file} (`);
      expect(stderr).toMatch(why);
    } finally {
      vi.restoreAllMocks();
      await rm(folder, { recursive: true, force: true });
    }
  },
);
