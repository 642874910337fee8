import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROTOCOL_VERSION } from '@tandem/runtime';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { WebSocket } from 'ws';
import { type Coordinator, startCoordinator } from './server.js';

const reducer = new Uint8Array(
  await readFile(new URL('../../reducers/todo/dist/reducer.wasm', import.meta.url)),
);
const hash = createHash('sha256').update(reducer).digest('hex');
let coordinator: Coordinator;
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tandem-http-'));
  await mkdir(join(root, 'app', 'assets'), { recursive: true });
  await writeFile(join(root, 'app', 'index.html'), '<h1>app</h1>');
  await writeFile(join(root, 'app', 'assets', 'main.js'), 'export {}');
  await writeFile(join(root, 'secret.txt'), 'do not serve');
  await symlink(join(root, 'secret.txt'), join(root, 'app', 'link.txt'));
  coordinator = await startCoordinator({ reducer, port: 0, workers: 1, staticDir: join(root, 'app') });
});
afterAll(async () => {
  await coordinator.close();
  await rm(root, { recursive: true, force: true });
});

/** A raw GET: the path goes out exactly as written (fetch would normalize `..`). */
function raw(path: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const { hostname, port } = new URL(coordinator.url);
  return new Promise((resolve, reject) => {
    get({ hostname, port, path }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (c: Buffer) => chunks.push(c));
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          body: Buffer.concat(chunks).toString(),
          headers: response.headers,
        }),
      );
    }).on('error', reject);
  });
}

test('/health answers JSON with the protocol version and the reducer hash', async () => {
  const response = await fetch(`${coordinator.url}/health`);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  expect(await response.json()).toMatchObject({
    status: 'ok',
    protocolVersion: PROTOCOL_VERSION,
    reducerHash: hash,
    connections: 0,
  });
  expect(coordinator.reducerHash).toBe(hash);
});

test('the reducer is served by its SHA-256 with immutable caching, and any other hash is a 404', async () => {
  const response = await fetch(`${coordinator.url}/reducers/${hash}.wasm`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('application/wasm');
  expect(response.headers.get('cache-control')).toContain('immutable');
  expect(new Uint8Array(await response.arrayBuffer())).toEqual(reducer);
  expect((await fetch(`${coordinator.url}/reducers/${'0'.repeat(64)}.wasm`)).status).toBe(404);
  expect((await fetch(`${coordinator.url}/reducers/${hash}.js`)).status).toBe(404);
});

test('static files are served from the static folder, index.html for a folder', async () => {
  expect(await raw('/')).toMatchObject({ status: 200, body: '<h1>app</h1>' });
  const script = await raw('/assets/main.js');
  expect(script).toMatchObject({ status: 200, body: 'export {}' });
  expect(script.headers['content-type']).toMatch(/^text\/javascript/);
  expect((await raw('/missing.js')).status).toBe(404);
});

test.each([
  '/../secret.txt',
  '/assets/../../secret.txt',
  '/%2e%2e/secret.txt',
  '/..%2fsecret.txt',
  '/assets%2f..%2f..%2fsecret.txt',
  '/..%5csecret.txt',
  '/link.txt',
  '/%00',
  '/%E0%A4%A',
])('no path escapes the static folder: %s is a 404', async (path) => {
  const response = await raw(path);
  expect(response.status).toBe(404);
  expect(response.body).not.toContain('do not serve');
});

test('other methods are refused, and a WebSocket upgrade anywhere but /sync is refused', async () => {
  expect((await fetch(`${coordinator.url}/health`, { method: 'POST' })).status).toBe(405);
  const socket = new WebSocket(`${coordinator.url.replace('http', 'ws')}/elsewhere`);
  const status = await new Promise((resolve) =>
    socket.on('unexpected-response', (_req, res) => resolve(res.statusCode)),
  );
  expect(status).toBe(404);
});
