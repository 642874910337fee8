// Deploying a reducer to a running coordinator (issue 12, must-show 5 and the deploy half of 1): over
// real HTTP, against a real coordinator with its files on disk, with the `tandem-coordinator deploy`
// bin. Refused, each with a clear message and nothing changed: no token or a wrong one, random bytes,
// a reducer importing something outside the world, a lower schema version. Deployed: the todo reducer
// version 2 becomes current without a restart, every document reopens under it (migrate(1) runs), the
// old reducer is still served by its hash, and a restart keeps the deployed one.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from '@bytecodealliance/jco';
import { type Coordinator, startCoordinator } from '@tandem/coordinator';
import { openDocument } from '@tandem/host-node';
import { expect, test } from 'vitest';
import { runCoordinatorBin } from './support/coordinator-bin.js';
import { REPO_ROOT } from './support/vite-server.js';

const TODO_V1 = join(REPO_ROOT, 'e2e/fixtures/todo-v1-reducer/dist/reducer.wasm');
const TODO_V2 = join(REPO_ROOT, 'reducers/todo/dist/reducer.wasm');
const TOKEN = 'operator-token-for-the-deploy-test';
const SEED = Number(process.env.DEPLOY_SEED ?? 20261206);

/** `n` bytes from a seeded generator (xorshift32): the same "random bytes" on every run. */
function seededBytes(n: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

/** A component around one core module that imports `env.Date.now`, a clock outside the world. */
async function clockReducer(): Promise<Uint8Array> {
  const core = await parse(`(module
    (import "env" "Date.now" (func (result f64)))
    (memory (export "memory") 1)
    (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (i32.const 1024))
    (func (export "schema-version") (result i32) (i32.const 9))
    (func (export "migrate") (param i32) (result i32) (i32.const 16))
    (func (export "reduce") (param i32 i32) (result i32) (i32.const 32)))`);
  const size: number[] = [];
  for (let n = core.length; ; ) {
    const byte = n & 0x7f;
    n >>>= 7;
    size.push(n === 0 ? byte : byte | 0x80);
    if (n === 0) break;
  }
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00, 1, ...size, ...core]);
}

async function post(coordinator: Coordinator, body: Uint8Array, token: string | null = TOKEN) {
  const response = await fetch(`${coordinator.url}/admin/reducers`, {
    method: 'POST',
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
    body: new Blob([body.slice()]),
  });
  return { status: response.status, answer: (await response.json()) as Record<string, unknown> };
}

async function current(coordinator: Coordinator): Promise<string> {
  const body = (await (await fetch(`${coordinator.url}/reducers/current`)).json()) as { sha256: string };
  return body.sha256;
}

const deployWithBin = (file: string, url: string, token: string) =>
  runCoordinatorBin(['deploy', file, '--url', url], token);

test('a running coordinator takes a newer reducer from its operator and refuses, changing nothing, what it must not run', async () => {
  const scratch = await mkdtemp(join(tmpdir(), 'tandem-deploy-'));
  const dataDir = join(scratch, 'coordinator');
  let coordinator = await startCoordinator({
    reducer: await readFile(TODO_V1),
    dataDir,
    port: 0,
    operatorToken: TOKEN,
  });
  try {
    const coordinatorUrl = `${coordinator.url.replace('http', 'ws')}/sync`;
    const writer = await openDocument({ docId: 'd', reducer: TODO_V1, coordinatorUrl });
    await writer.mutateBatch([
      { type: 'create', id: 'a', title: 'milk' },
      { type: 'create', id: 'b', title: 'bread' },
    ]);
    await writer.synced();
    const v1Hash = coordinator.reducerHash;
    const pages = await coordinator.pageHash('d');

    const refusals: [string, Promise<{ status: number; answer: Record<string, unknown> }>, number, string][] =
      [
        ['no token', post(coordinator, await readFile(TODO_V2), null), 401, 'unauthorized'],
        ['a wrong token', post(coordinator, await readFile(TODO_V2), `${TOKEN}x`), 401, 'unauthorized'],
        ['random bytes', post(coordinator, seededBytes(4096, SEED)), 422, 'invalid-reducer'],
        ['an import outside the world', post(coordinator, await clockReducer()), 422, 'invalid-reducer'],
      ];
    for (const [what, answered, status, kind] of refusals) {
      const { status: got, answer } = await answered;
      expect({ what, got, kind: answer.kind }, JSON.stringify(answer)).toEqual({ what, got: status, kind });
      expect(answer.message, what).toEqual(expect.any(String));
    }
    const messages = await Promise.all(refusals.map(async ([, answered]) => (await answered).answer.message));
    expect(messages[2]).toMatch(/WebAssembly|not-wasm/);
    expect(messages[3]).toContain('`env.Date.now`');
    expect(messages[3]).toContain('forbidden-import');
    expect(await current(coordinator)).toBe(v1Hash);
    expect(await coordinator.pageHash('d')).toBe(pages);
    // Only the reducer it was started with is kept (reducer-registry.ts invariant 4), named current
    // since the start (invariant 2).
    expect((await readdir(join(dataDir, '.reducers'))).sort()).toEqual([`${v1Hash}.wasm`, 'current']);
    expect((await readFile(join(dataDir, '.reducers', 'current'), 'utf8')).trim()).toBe(v1Hash);

    // Deployed with the bin, while the coordinator serves.
    const deployed = await deployWithBin(TODO_V2, coordinator.url, TOKEN);
    expect(deployed).toMatchObject({ code: 0, out: expect.stringMatching(/^deployed .* schema 2 \(was /) });
    const v2Hash = await current(coordinator);
    expect(v2Hash).not.toBe(v1Hash);
    expect(coordinator.reducerHash).toBe(v2Hash);
    for (const hash of [v1Hash, v2Hash]) {
      expect((await fetch(`${coordinator.url}/reducers/${hash}.wasm`)).status, hash).toBe(200);
    }

    // The document reopens under version 2: migrate(1) ran, and a version 2 client reads it.
    const reader = await openDocument({ docId: 'd', reducer: TODO_V2, coordinatorUrl });
    await reader.caughtUp();
    expect(await reader.query('SELECT id, title, priority FROM todos ORDER BY id')).toEqual([
      { id: 'a', title: 'milk', priority: 0 },
      { id: 'b', title: 'bread', priority: 0 },
    ]);
    await reader.mutate({ type: 'setPriority', id: 'b', priority: 2 });
    await reader.synced();
    expect(await reader.pageHash()).toBe(await coordinator.pageHash('d'));
    await reader.close();
    // The version 1 client was dropped at the deploy and heard the new hash in its next welcome: it
    // fetched version 2 by that hash and runs it now, never writing under version 1 over version 2 pages.
    await expect.poll(() => writer.reducer, { timeout: 20_000 }).toEqual({ hash: v2Hash, schemaVersion: 2 });
    await writer.caughtUp();
    expect(await writer.pageHash()).toBe(await coordinator.pageHash('d'));
    expect(writer.status.syncError).toBeUndefined();
    await writer.close();

    // A lower schema version is refused now, by the bin too, and nothing changes.
    const lower = await deployWithBin(TODO_V1, coordinator.url, TOKEN);
    expect(lower.code).toBe(1);
    expect(lower.out).toContain('refused (schema-version-lower)');
    expect(lower.out).toContain('schema version 1, lower than the current reducer');
    expect(await current(coordinator)).toBe(v2Hash);
    const again = await post(coordinator, await readFile(TODO_V2));
    expect(again).toMatchObject({ status: 200, answer: { status: 'current', sha256: v2Hash } });

    const metrics = await (await fetch(`${coordinator.url}/metrics`)).text();
    expect(metrics).toContain('tandem_reducer_deploys_total{outcome="deployed"} 1');
    expect(metrics).toContain('tandem_reducer_deploys_total{outcome="schema-version-lower"} 1');
    expect(metrics).toContain('tandem_reducer_deploys_total{outcome="invalid-reducer"} 2');

    // A restart with the old --reducer keeps running the deployed, newer one.
    await coordinator.close();
    coordinator = await startCoordinator({ reducer: await readFile(TODO_V1), dataDir, port: 0 });
    expect(coordinator.reducerHash).toBe(v2Hash);
  } finally {
    await coordinator.close();
    await rm(scratch, { recursive: true, force: true });
  }
}, 120_000);

test('a coordinator started without an operator token takes no deploy, and one without a data folder cannot', async () => {
  const v2 = new Uint8Array(await readFile(TODO_V2));
  const scratch = await mkdtemp(join(tmpdir(), 'tandem-deploy-off-'));
  const closed = await startCoordinator({ reducer: await readFile(TODO_V1), dataDir: scratch, port: 0 });
  const memory = await startCoordinator({ reducer: await readFile(TODO_V1), port: 0, operatorToken: TOKEN });
  try {
    expect(await post(closed, v2)).toMatchObject({ status: 403, answer: { kind: 'deploys-disabled' } });
    expect(await post(memory, v2)).toMatchObject({ status: 409, answer: { kind: 'no-data-folder' } });
    expect(await current(closed)).toBe(closed.reducerHash);
    expect(await current(memory)).toBe(memory.reducerHash);
    const unreachable = await deployWithBin(TODO_V2, 'http://127.0.0.1:1', TOKEN);
    expect(unreachable.code).toBe(1);
    expect(unreachable.out).toContain('did not answer');
  } finally {
    await closed.close();
    await memory.close();
    await rm(scratch, { recursive: true, force: true });
  }
}, 60_000);
