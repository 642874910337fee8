// `npm start` (scripts/start.mjs) and the todo demo server (scripts/serve-app.mjs) on a port that is
// already taken: a second `npm start` while one runs. They must say which port and how to pick another,
// exit non-zero, and print no stack.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { REPO_ROOT } from './support/vite-server.js';

const run = promisify(execFile);
let taken: Server;
let port: number;
let data: string;

beforeAll(async () => {
  data = await mkdtemp(join(tmpdir(), 'tandem-start-'));
  taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const address = taken.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  port = address.port;
});

afterAll(async () => {
  await new Promise((resolve) => taken.close(resolve));
  await rm(data, { recursive: true, force: true });
});

async function exitOf(script: string, env: Record<string, string>) {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(REPO_ROOT, script)], {
      cwd: REPO_ROOT,
      env: { ...process.env, TANDEM_DATA: data, TANDEM_LOG_LEVEL: 'silent', ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const NO_STACK = /^\s+at /m;

test('npm start on a taken port says which port and how to choose another, before building, and exits 1 without a stack', async () => {
  const r = await exitOf('scripts/start.mjs', { PORT: String(port) });
  expect(r.code).toBe(1);
  expect(r.stderr.trim()).toBe(
    `✗ port ${port} is in use (another npm start or coordinator?): stop it, or choose another port with PORT=<port> npm start`,
  );
  expect(r.stderr).not.toMatch(NO_STACK);
  expect(r.stderr + r.stdout).not.toContain('building');
});

test('npm start refuses a PORT that is not a port number', async () => {
  const r = await exitOf('scripts/start.mjs', { PORT: 'eighty' });
  expect(r.code).toBe(1);
  expect(r.stderr.trim()).toBe('✗ PORT=eighty is not a port number (0-65535; 0 picks a free one)');
});

test('the demo server (the Playwright suite starts it) on a taken port gives the same answer from the coordinator', async () => {
  const r = await exitOf('scripts/serve-app.mjs', { PORT: String(port) });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(`✗ port ${port} is in use (another npm start or coordinator?)`);
  expect(r.stderr).toContain('PORT=<port>');
  expect(r.stderr).not.toMatch(NO_STACK);
}, 90_000);
