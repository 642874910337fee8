import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPreparedReducer, PROTOCOL_VERSION, readPrepared } from '@tandem/runtime';
import { prepareReducer } from '@tandem/runtime/prepare';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { WebSocket } from 'ws';
import { type Coordinator, startCoordinator } from './server.js';

const component = new Uint8Array(
  await readFile(new URL('../../reducers/todo/dist/reducer.wasm', import.meta.url)),
);
/** What the coordinator serves and runs: the component prepared (metered) once. */
const prepared = await prepareReducer(component);
const hash = createHash('sha256').update(prepared).digest('hex');
let coordinator: Coordinator;
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tandem-http-'));
  await mkdir(join(root, 'app', 'assets'), { recursive: true });
  await writeFile(join(root, 'app', 'index.html'), '<h1>app</h1>');
  await writeFile(join(root, 'app', 'assets', 'main.js'), 'export {}');
  await writeFile(join(root, 'secret.txt'), 'do not serve');
  await symlink(join(root, 'secret.txt'), join(root, 'app', 'link.txt'));
  coordinator = await startCoordinator({
    reducer: component,
    port: 0,
    workers: 1,
    staticDir: join(root, 'app'),
  });
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

test('/health answers JSON with the protocol version and the prepared reducer hash', async () => {
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

test('the prepared reducer is served by its SHA-256 with immutable caching, and any other hash is a 404', async () => {
  const response = await fetch(`${coordinator.url}/reducers/${hash}.wasm`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('application/wasm');
  expect(response.headers.get('cache-control')).toContain('immutable');
  expect(response.headers.get('etag')).toBe(`"${hash}"`);
  expect(response.headers.get('access-control-allow-origin')).toBe('*');
  const served = new Uint8Array(await response.arrayBuffer());
  expect(served).toEqual(prepared);
  // Already metered: the loader without an instrumenter takes it, under the same identity.
  expect((await loadPreparedReducer(served)).sha256).toBe(hash);
  expect(readPrepared(served).header.component.sha256).toBe(
    createHash('sha256').update(component).digest('hex'),
  );
  expect(
    (await fetch(`${coordinator.url}/reducers/${createHash('sha256').update(component).digest('hex')}.wasm`))
      .status,
  ).toBe(404);
  expect((await fetch(`${coordinator.url}/reducers/${'0'.repeat(64)}.wasm`)).status).toBe(404);
  expect((await fetch(`${coordinator.url}/reducers/${hash}.js`)).status).toBe(404);
});

test('/reducers/current names the prepared reducer and its URL, never cached', async () => {
  const response = await fetch(`${coordinator.url}/reducers/current`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  expect(response.headers.get('cache-control')).toBe('no-store');
  expect(response.headers.get('access-control-allow-origin')).toBe('*');
  const current: unknown = await response.json();
  expect(current).toEqual({ sha256: hash, url: `/reducers/${hash}.wasm` });
  const head = await fetch(`${coordinator.url}/reducers/current`, { method: 'HEAD' });
  expect(head.status).toBe(200);
  expect(await head.text()).toBe('');
  const followed = await fetch(new URL((current as { url: string }).url, coordinator.url));
  expect(
    createHash('sha256')
      .update(new Uint8Array(await followed.arrayBuffer()))
      .digest('hex'),
  ).toBe(hash);
});

test('a coordinator given the prepared reducer instead of the component serves the same bytes under the same hash', async () => {
  const other = await startCoordinator({ reducer: prepared, port: 0, workers: 1 });
  try {
    expect(other.reducerHash).toBe(hash);
    const served = await fetch(`${other.url}/reducers/${hash}.wasm`);
    expect(new Uint8Array(await served.arrayBuffer())).toEqual(prepared);
  } finally {
    await other.close();
  }
});

test('static files are served from the static folder, index.html for a folder; the hashed /assets/ immutable, the rest revalidated', async () => {
  const index = await raw('/');
  expect(index).toMatchObject({ status: 200, body: '<h1>app</h1>' });
  expect(index.headers['cache-control']).toBe('no-cache');
  const script = await raw('/assets/main.js');
  expect(script).toMatchObject({ status: 200, body: 'export {}' });
  expect(script.headers['content-type']).toMatch(/^text\/javascript/);
  expect(script.headers['cache-control']).toContain('immutable');
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
