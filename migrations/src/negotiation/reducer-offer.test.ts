// The negotiation's decisions (reducer-offer.ts): which reducer a client takes from the coordinator, and
// what it refuses, over the todo reducer's real versions 1 and 2, prepared as the coordinator serves them.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_LIMITS, declaredSchemaVersion, loadPreparedReducer } from '@tandem/runtime/local';
import { prepareReducer } from '@tandem/runtime/prepare';
import { SyncFailure, sha256Hex } from '@tandem/runtime/sync';
import { expect, test } from 'vitest';
import {
  coordinatorHttpRoot,
  decideReducer,
  type FetchLike,
  fetchCurrentReducer,
  fetchOfferedReducer,
} from './reducer-offer.js';

const component = (path: string) => readFile(new URL(`../../../${path}`, import.meta.url));
const V1 = await prepareReducer(await component('e2e/fixtures/todo-v1-reducer/dist/reducer.wasm'));
const V2 = await prepareReducer(await component('reducers/todo/dist/reducer.wasm'));
const UNIQUE_V2 = await prepareReducer(
  await component('e2e/fixtures/todo-v2-unique-titles-reducer/dist/reducer.wasm'),
);
const ROOT = 'http://coordinator.test:8787';

/** A coordinator's HTTP side serving `served` by path; every other path is a 404. */
function serving(served: Record<string, Uint8Array | object | number>): FetchLike & { asked: string[] } {
  const asked: string[] = [];
  const fetchLike = async (url: string) => {
    asked.push(url);
    const body = served[url.slice(ROOT.length)];
    if (body === undefined) return new Response(null, { status: 404 });
    if (typeof body === 'number') return new Response(null, { status: body });
    if (body instanceof Uint8Array) return new Response(body.slice());
    return Response.json(body);
  };
  return Object.assign(fetchLike, { asked });
}

const hashOf = (bytes: Uint8Array) => sha256Hex([bytes]);
const at = async (bytes: Uint8Array) => `/reducers/${await hashOf(bytes)}.wasm`;

async function mismatch(offer: Promise<unknown>): Promise<string> {
  const error = await offer.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(SyncFailure);
  expect((error as SyncFailure).reason).toBe('reducer-mismatch');
  return (error as SyncFailure).message;
}

test('a newer reducer is an upgrade, an older one a wait, another of the same version a mismatch', () => {
  const own = { hash: 'a'.repeat(64), schemaVersion: 2 };
  expect(decideReducer(own, { hash: 'b'.repeat(64), schemaVersion: 3 })).toBe('upgrade');
  expect(decideReducer(own, { hash: 'b'.repeat(64), schemaVersion: 1 })).toBe('wait');
  expect(decideReducer(own, { hash: 'b'.repeat(64), schemaVersion: 2 })).toBe('mismatch');
  expect(() => decideReducer(own, own)).toThrow(RangeError);
});

test('the offered reducer is fetched by its hash, loaded, and says its schema version', async () => {
  const hash = await hashOf(V2);
  const http = serving({ [await at(V2)]: V2 });
  const offer = await fetchOfferedReducer(ROOT, hash, {}, http);
  expect(http.asked).toEqual([`${ROOT}/reducers/${hash}.wasm`]);
  expect(offer.module.sha256).toBe(hash);
  expect(offer.schemaVersion).toBe(2);
  expect(declaredSchemaVersion(await loadPreparedReducer(V1))).toBe(1);
});

test('bytes that do not hash to the offered hash are refused, whatever they are', async () => {
  const hash = await hashOf(V2);
  // The coordinator's path for v2 answers with v1's bytes: a valid reducer, but not the one named.
  const message = await mismatch(fetchOfferedReducer(ROOT, hash, {}, serving({ [await at(V2)]: V1 })));
  expect(message).toContain(`whose SHA-256 is ${await hashOf(V1)}`);
});

test('a reducer the coordinator does not serve, and bytes no loader takes, are a mismatch for good', async () => {
  const hash = await hashOf(V2);
  expect(await mismatch(fetchOfferedReducer(ROOT, hash, {}, serving({})))).toContain('HTTP 404');
  expect(await mismatch(fetchOfferedReducer(ROOT, 'not-a-hash', {}, serving({})))).toContain('not a SHA-256');
  const garbage = new Uint8Array(4096).map((_, i) => (i * 7919) & 0xff);
  const unloadable = await mismatch(
    fetchOfferedReducer(ROOT, await hashOf(garbage), {}, serving({ [await at(garbage)]: garbage })),
  );
  expect(unloadable).toContain('cannot load');
  // The coordinator's reducer metered under other limits than this client's: never run.
  const metered = await mismatch(
    fetchOfferedReducer(
      ROOT,
      hash,
      { maxStackBytes: DEFAULT_LIMITS.maxStackBytes / 2 },
      serving({ [await at(V2)]: V2 }),
    ),
  );
  expect(metered).toContain('cannot load');
});

test('a coordinator that does not answer is a transient error, not a mismatch', async () => {
  const hash = await hashOf(V2);
  const down = await fetchOfferedReducer(ROOT, hash, {}, serving({ [await at(V2)]: 503 })).catch(
    (error: unknown) => error,
  );
  expect(down).toBeInstanceOf(Error);
  expect(down).not.toBeInstanceOf(SyncFailure);
  const unreachable = await fetchOfferedReducer(ROOT, hash, {}, () =>
    Promise.reject(new TypeError('fetch failed')),
  ).catch((error: unknown) => error);
  expect(unreachable).not.toBeInstanceOf(SyncFailure);
  expect(String(unreachable)).toContain('fetch failed');
});

test('the current reducer is found from the sync URL, and two of the same version differ by hash', async () => {
  const hash = await hashOf(UNIQUE_V2);
  const http = serving({
    '/reducers/current': { sha256: hash, url: await at(UNIQUE_V2) },
    [await at(UNIQUE_V2)]: UNIQUE_V2,
  });
  const current = await fetchCurrentReducer('ws://coordinator.test:8787/sync', {}, http);
  expect(current).toMatchObject({ schemaVersion: 2, module: { sha256: hash } });
  expect(decideReducer({ hash: await hashOf(V2), schemaVersion: 2 }, { hash, schemaVersion: 2 })).toBe(
    'mismatch',
  );
});

test('the HTTP root of a sync URL keeps its host, scheme pair and path prefix', () => {
  expect(coordinatorHttpRoot('ws://localhost:8787/sync')).toBe('http://localhost:8787');
  expect(coordinatorHttpRoot('wss://example.com/app/sync?x=1')).toBe('https://example.com/app');
  expect(coordinatorHttpRoot('ws://127.0.0.1:9/')).toBe('http://127.0.0.1:9');
});

test('a coordinator that holds the request is a transient error once the timeout passes', async () => {
  const server = createServer(() => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const root = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const started = performance.now();
    const hung = await fetchOfferedReducer(root, await hashOf(V2), {}, fetch, 200).catch(
      (error: unknown) => error,
    );
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(hung).toBeInstanceOf(Error);
    expect(hung).not.toBeInstanceOf(SyncFailure);
    expect(String(hung)).toContain('cannot fetch');
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
