// What an operator sees: refusals and failures as JSON log lines with a counter beside each, and a
// data folder that cannot be used stopping the coordinator before it listens.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { createLog } from './log.js';
import { startCoordinator } from './server.js';
import { TestSyncClient } from './testing/sync-client.js';

const reducerPath = fileURLToPath(new URL('../../reducers/todo/dist/reducer.wasm', import.meta.url));
const reducer = new Uint8Array(await readFile(reducerPath));
const bin = fileURLToPath(new URL('../bin/tandem-coordinator.js', import.meta.url));

function capture(): { lines: Record<string, unknown>[]; log: ReturnType<typeof createLog> } {
  const lines: Record<string, unknown>[] = [];
  const log = createLog({ level: 'debug', destination: { write: (line) => lines.push(JSON.parse(line)) } });
  return { lines, log };
}

test('a refused auth is logged and counted', async () => {
  const { lines, log } = capture();
  const coordinator = await startCoordinator({ reducer, port: 0, workers: 1, log, authorize: () => false });
  try {
    const client = await TestSyncClient.connect(coordinator.url, { docId: 'guarded' });
    expect(await client.next('error')).toMatchObject({ kind: 'unauthorized' });
    await client.closed;
    const metrics = await (await fetch(`${coordinator.url}/metrics`)).text();
    expect(metrics).toMatch(/^tandem_connection_errors_total\{kind="unauthorized"\} 1$/m);
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 'warn', msg: 'auth refused', kind: 'unauthorized' }),
    );
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'connection closed', code: 1008 }));
    expect(metrics).toMatch(/^tandem_connections_closed_total\{code="1008"\} 1$/m);
  } finally {
    await coordinator.close();
  }
  expect(lines.map((l) => l.msg)).toEqual(
    expect.arrayContaining(['coordinator started', 'coordinator closing', 'coordinator closed']),
  );
});

test('a protocol error is logged and counted', async () => {
  const { lines, log } = capture();
  const coordinator = await startCoordinator({ reducer, port: 0, workers: 1, log });
  try {
    const client = await TestSyncClient.open(coordinator.url);
    client.socket.send('not msgpack');
    expect(await client.next('error')).toMatchObject({ kind: 'malformed' });
    const metrics = await (await fetch(`${coordinator.url}/metrics`)).text();
    expect(metrics).toMatch(/^tandem_connection_errors_total\{kind="malformed"\} 1$/m);
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 'warn', msg: 'protocol error', kind: 'malformed' }),
    );
  } finally {
    await coordinator.close();
  }
});

async function runBin(data: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [bin, '--reducer', reducerPath, '--data', data, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    // A coordinator that listens despite its data folder is the defect: stop it and let the test fail.
    if (stdout.includes('listening on')) child.kill('SIGKILL');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, stdout, stderr };
}

test('a coordinator pointed at a file refuses to start with a clear message', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'tandem-data-'));
  try {
    const file = join(folder, 'not-a-folder');
    await writeFile(file, 'x');
    const { code, stdout, stderr } = await runBin(file);
    expect(stdout).not.toMatch(/listening on/);
    expect(code).toBe(2);
    expect(stderr).toContain(`data folder ${file}: it is a file, not a folder`);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}, 60_000);

test('a coordinator whose data folder cannot be created or written refuses to start with a clear message', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'tandem-data-'));
  try {
    const file = join(folder, 'a-file');
    await writeFile(file, 'x');
    // Root ignores permission bits: a path under a file cannot be created, and /proc/self takes no new files.
    for (const [data, why] of [
      [join(file, 'data'), 'it cannot be created'],
      ['/proc/self', 'it cannot be written'],
    ] as const) {
      const { code, stdout, stderr } = await runBin(data);
      expect(stdout).not.toMatch(/listening on/);
      expect(code).toBe(2);
      expect(stderr).toContain(`data folder ${data}: ${why}`);
    }
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}, 60_000);
