// A reducer deployed to one coordinator reaches the others sharing its PostgreSQL store
// (shared-reducers.ts): the one taking over a document migrated elsewhere serves it under the new
// reducer, to clients of the new reducer, and tells clients of the old one to upgrade.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { connectToOwner, startCoordinatorProcess } from '../testing/coordinator-bin.js';
import { createTodos, pushOf } from '../testing/pushes.js';
import { TestSyncClient } from '../testing/sync-client.js';
import { usePostgresCluster } from '../testing/use-postgres-cluster.js';

const LEASE_MS = 1500;
const TOKEN = 'operator-token-of-the-test';
const V1 = fileURLToPath(new URL('../../../e2e/fixtures/todo-v1-reducer/dist/reducer.wasm', import.meta.url));
const V2 = fileURLToPath(new URL('../../../reducers/todo/dist/reducer.wasm', import.meta.url));

const cluster = usePostgresCluster();

async function current(url: string): Promise<string> {
  return ((await (await fetch(`${url}/reducers/current`)).json()) as { sha256: string }).sha256;
}

async function admin(url: string, path: string, body?: Uint8Array): Promise<Record<string, unknown>> {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}` },
    ...(body !== undefined && { body }),
  });
  return (await response.json()) as Record<string, unknown>;
}

test('v2 deployed and a document migrated on coordinator A: once A is killed, B serves it under v2 to a v2 client, and tells a v1 client to upgrade', async () => {
  const store = cluster().createDatabase('deploy_across');
  const args = ['--store', store, '--lease-ms', String(LEASE_MS)];
  const start = () => startCoordinatorProcess(args, { reducer: V1, env: { TANDEM_OPERATOR_TOKEN: TOKEN } });
  const [a, b] = await Promise.all([start(), start()]);
  try {
    const v1 = await current(a.url);
    expect(await current(b.url)).toBe(v1);

    // A serves the document under v1.
    const writer = await TestSyncClient.connect(a.url, { docId: 'doc', timelineId: 'w', reducerHash: v1 });
    await writer.next('welcome');
    writer.send(createTodos(0, 3));
    await writer.next('push-result', (r) => r.appliedLsn === 2);

    // v2 deployed to A, and the document migrated there (one frame, under A's lease).
    const deployed = await admin(a.url, '/admin/reducers', new Uint8Array(await readFile(V2)));
    expect(deployed).toMatchObject({ status: 'deployed', schemaVersion: 2 });
    const v2 = deployed.sha256 as string;
    await writer.closed;
    const migrated = await admin(a.url, '/admin/migrate');
    expect(migrated).toMatchObject({
      status: 'done',
      documents: [{ docId: 'doc', outcome: 'migrated', fromVersion: 1, toVersion: 2 }],
    });

    a.child.kill('SIGKILL');
    await a.exited;

    // B takes the document over once A's lease runs out, and serves it under v2.
    const upgraded = await connectToOwner([b.url], 0, 'doc', 'w', 40).catch(() => undefined);
    expect(upgraded, 'B never served the document').toBeDefined();
    // Everything A acknowledged is there.
    expect(upgraded!.welcome).toMatchObject({ reducerHash: v2, appliedLsn: 2 });
    upgraded!.client.socket.terminate();
    const v2client = await TestSyncClient.connect(b.url, { docId: 'doc', timelineId: 'v2', reducerHash: v2 });
    const welcome = await v2client.next('welcome');
    expect(welcome.reducerHash).toBe(v2);
    // A mutation only v2 knows applies.
    v2client.send(pushOf(0, 1, () => ({ type: 'setPriority', id: 't1', priority: 3 })));
    const result = await v2client.next('push-result');
    expect(result).toMatchObject({ appliedLsn: 0, rejected: [], refused: null });
    await v2client.reach((result.frameLsn ?? 0) + 1);
    expect(v2client.violations).toEqual([]);
    expect(await current(b.url)).toBe(v2);
    expect((await fetch(`${b.url}/reducers/${v1}.wasm`)).status).toBe(200);

    // A v1 client reaching B hears v2's hash (to load it), and a push under v1 is refused untouched.
    const old = await TestSyncClient.connect(b.url, { docId: 'doc', timelineId: 'old', reducerHash: v1 });
    expect((await old.next('welcome')).reducerHash).toBe(v2);
    old.send(createTodos(0, 1, 'old-'));
    expect(await old.next('error')).toMatchObject({ kind: 'unexpected' });
    await v2client.close();
  } finally {
    a.child.kill('SIGKILL');
    b.child.kill('SIGKILL');
  }
}, 90_000);

test('a coordinator started with a newer --reducer than the store names records it current, as a deploy would: one already running with the older one takes it up, and one started with the older one serves it', async () => {
  const store = cluster().createDatabase('start_newer');
  const args = ['--store', store, '--lease-ms', String(LEASE_MS)];
  const a = await startCoordinatorProcess(args, { reducer: V1 });
  const started = [a];
  try {
    const v1 = await current(a.url);
    const b = await startCoordinatorProcess(args, { reducer: V2 });
    started.push(b);
    const v2 = await current(b.url);
    expect(v2).not.toBe(v1);
    // A polls the store every lease time: it runs v2 within a few.
    const deadline = Date.now() + 10 * LEASE_MS;
    while ((await current(a.url)) !== v2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await current(a.url)).toBe(v2);
    // Started with the older reducer: the store's current one is served from the start, the older
    // one still by hash.
    const c = await startCoordinatorProcess(args, { reducer: V1 });
    started.push(c);
    expect(await current(c.url)).toBe(v2);
    expect((await fetch(`${c.url}/reducers/${v1}.wasm`)).status).toBe(200);
    // A v1 client reaching it hears v2's hash, to load it.
    const old = await TestSyncClient.connect(c.url, { docId: 'doc', timelineId: 'old', reducerHash: v1 });
    expect((await old.next('welcome')).reducerHash).toBe(v2);
    await old.close();
  } finally {
    for (const process of started) process.child.kill('SIGKILL');
    await Promise.all(started.map((process) => process.exited));
  }
}, 90_000);
