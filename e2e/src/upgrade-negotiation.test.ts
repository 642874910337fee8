// Reducer negotiation over real WebSockets and HTTP, against one coordinator that never restarts (issue
// 12, must-shows 1 and 2). A client whose reducer is older than the coordinator's fetches the
// coordinator's by its hash, checks it, moves to it and reduces its pending mutations again under it; a
// client whose reducer is newer works on, says it waits, and syncs once the coordinator runs its reducer.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Coordinator, startCoordinator } from '@tandem/coordinator';
import { type LocalDocument, openDocument } from '@tandem/host-node';
import type { ReducerUpgrade } from '@tandem/runtime';
import { expect, test } from 'vitest';
import { REPO_ROOT } from './support/vite-server.js';

const TODO_V1 = join(REPO_ROOT, 'e2e/fixtures/todo-v1-reducer/dist/reducer.wasm');
const TODO_V2 = join(REPO_ROOT, 'reducers/todo/dist/reducer.wasm');
/** A version 2 whose `migrate(1)` adds a unique index on titles: it fails on pages holding one title twice. */
const UNIQUE_V2 = join(REPO_ROOT, 'e2e/fixtures/todo-v2-unique-titles-reducer/dist/reducer.wasm');
const TOKEN = 'operator-token-for-the-negotiation-test';
const FAST = { backoffMs: 20, maxBackoffMs: 200 };

/** Deploys `file` to the running coordinator over its HTTP admin route, as an operator does. */
async function deploy(coordinator: Coordinator, file: string): Promise<void> {
  const response = await fetch(`${coordinator.url}/admin/reducers`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}` },
    body: new Blob([new Uint8Array(await readFile(file))]),
  });
  expect(response.status, await response.clone().text()).toBe(200);
  expect(await response.json()).toMatchObject({ status: 'deployed' });
}

async function setup(prefix: string) {
  const scratch = await mkdtemp(join(tmpdir(), prefix));
  const coordinator = await startCoordinator({
    reducer: await readFile(TODO_V1),
    dataDir: join(scratch, 'coordinator'),
    port: 0,
    operatorToken: TOKEN,
  });
  const coordinatorUrl = `${coordinator.url.replace('http', 'ws')}/sync`;
  const open = (docId: string, reducer: string, folder?: string) =>
    openDocument({
      docId,
      reducer,
      coordinatorUrl,
      sync: FAST,
      ...(folder !== undefined && { dataDir: join(scratch, folder) }),
    });
  return { scratch, coordinator, open };
}

const upgrades = (doc: LocalDocument): ReducerUpgrade[] => {
  const heard: ReducerUpgrade[] = [];
  doc.onUpgrade((upgrade) => heard.push(upgrade));
  return heard;
};

test('an offline client with 50 pending v1 mutations reconnects after v2 is deployed under writers: it upgrades itself, its mutations apply under v2, and all converge with a priority column', async () => {
  const { scratch, coordinator, open } = await setup('tandem-upgrade-');
  const docs: LocalDocument[] = [];
  try {
    const [a, b, c] = await Promise.all([open('d', TODO_V1), open('d', TODO_V1), open('d', TODO_V1, 'c')]);
    docs.push(a!, b!, c!);
    const v1 = coordinator.reducerHash;
    const heard = docs.map(upgrades);
    await a!.mutate({ type: 'create', id: 'seed', title: 'seed' });
    await a!.synced();
    await c!.caughtUp();

    await c!.goOffline();
    const offline = await c!.mutateBatch(
      Array.from({ length: 50 }, (_, i) => ({ type: 'create', id: `c${i}`, title: `offline ${i}` })),
    );
    expect(offline.every((result) => result.status === 'applied')).toBe(true);
    expect(c!.status.pendingCount).toBe(50);

    // A and B keep writing while v2 is deployed: the deploy drops them, and each upgrades at its next welcome.
    let writing = true;
    const writer = async (doc: LocalDocument, name: string) => {
      let n = 0;
      while (writing) {
        await doc.mutate({ type: 'create', id: `${name}${n}`, title: `${name} ${n}` });
        n++;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      return n;
    };
    const writes = Promise.all([writer(a!, 'a'), writer(b!, 'b')]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await deploy(coordinator, TODO_V2);
    const v2 = coordinator.reducerHash;
    expect(v2).not.toBe(v1);
    await expect.poll(() => [a!.reducer.hash, b!.reducer.hash], { timeout: 20_000 }).toEqual([v2, v2]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    writing = false;
    const [writtenA, writtenB] = await writes;

    // The offline client still runs v1 with its 50 mutations; back online it moves to v2 on its own.
    expect(c!.reducer).toEqual({ hash: v1, schemaVersion: 1 });
    await c!.goOnline();
    await c!.synced();
    expect(c!.reducer).toEqual({ hash: v2, schemaVersion: 2 });
    for (const result of offline) {
      expect(await c!.fate(result.lsn)).toEqual({ lsn: result.lsn, status: 'confirmed' });
    }
    await Promise.all(docs.map((doc) => doc.synced()));
    await Promise.all(docs.map((doc) => doc.caughtUp()));

    const expected = await coordinator.pageHash('d');
    expect(await Promise.all(docs.map((doc) => doc.pageHash()))).toEqual([expected, expected, expected]);
    const upgrade = { from: { hash: v1, schemaVersion: 1 }, to: { hash: v2, schemaVersion: 2 } };
    expect(heard).toEqual([[upgrade], [upgrade], [upgrade]]);
    for (const doc of docs) {
      expect(doc.status).toMatchObject({ syncState: 'live', reducer: upgrade.to, upgraded: upgrade });
      expect(doc.status.syncError).toBeUndefined();
      const rows = await doc.query('SELECT count(*) AS n, sum(priority) AS p FROM todos WHERE id GLOB ?', [
        'c*',
      ]);
      expect(rows).toEqual([{ n: 50, p: 0 }]);
      expect(await doc.query('SELECT count(*) AS n FROM todos')).toEqual([
        { n: 1 + 50 + writtenA! + writtenB! },
      ]);
    }
    // v2's own mutation on the upgraded offline client reaches everyone.
    await c!.mutate({ type: 'setPriority', id: 'c7', priority: 3 });
    await c!.synced();
    await a!.caughtUp();
    expect(await a!.query('SELECT priority FROM todos WHERE id = ?', ['c7'])).toEqual([{ priority: 3 }]);
  } finally {
    await Promise.all(docs.map((doc) => doc.close()));
    await coordinator.close();
    await rm(scratch, { recursive: true, force: true });
  }
}, 120_000);

test('a client built with v2 before the coordinator has it works locally, says it waits for v2, and syncs without loss once v2 is deployed', async () => {
  const { scratch, coordinator, open } = await setup('tandem-wait-');
  const docs: LocalDocument[] = [];
  try {
    const old = await open('d', TODO_V1);
    docs.push(old);
    await old.mutate({ type: 'create', id: 'old0', title: 'from v1' });
    await old.synced();
    const v1 = coordinator.reducerHash;

    const early = await open('d', TODO_V2, 'early');
    docs.push(early);
    const v2 = early.reducer;
    expect(v2.schemaVersion).toBe(2);
    await expect.poll(() => early.status.syncState, { timeout: 20_000 }).toBe('waiting-for-reducer');
    expect(early.status.waitingFor).toEqual({ ...v2, coordinator: { hash: v1, schemaVersion: 1 } });
    expect(early.status.syncError).toBeUndefined();

    // It works as if offline, with v2's own mutations, and still takes what the coordinator sends.
    const made = await early.mutateBatch([
      { type: 'create', id: 'e0', title: 'early 0' },
      { type: 'create', id: 'e1', title: 'early 1' },
      { type: 'setPriority', id: 'e1', priority: 5 },
    ]);
    expect(made.map((result) => result.status)).toEqual(['applied', 'applied', 'applied']);
    await old.mutate({ type: 'create', id: 'old1', title: 'from v1, later' });
    await old.synced();
    await early.caughtUp();
    expect(await early.query('SELECT id, priority FROM todos ORDER BY id')).toEqual([
      { id: 'e0', priority: 0 },
      { id: 'e1', priority: 5 },
      { id: 'old0', priority: 0 },
      { id: 'old1', priority: 0 },
    ]);
    // Nothing of it reached the coordinator, which runs v1 still.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(early.status).toMatchObject({ syncState: 'waiting-for-reducer', pendingCount: 3 });
    await old.caughtUp();
    expect(await old.query('SELECT id FROM todos ORDER BY id')).toEqual([{ id: 'old0' }, { id: 'old1' }]);

    await deploy(coordinator, TODO_V2);
    expect(coordinator.reducerHash).toBe(v2.hash);
    await early.synced();
    expect(early.status).toMatchObject({ syncState: 'live', pendingCount: 0, reducer: v2 });
    expect(early.status.waitingFor).toBeUndefined();
    for (const result of made) {
      expect(await early.fate(result.lsn)).toEqual({ lsn: result.lsn, status: 'confirmed' });
    }
    await expect.poll(() => old.reducer.hash, { timeout: 20_000 }).toBe(v2.hash);
    await old.caughtUp();
    await early.caughtUp();
    const expected = await coordinator.pageHash('d');
    expect([await old.pageHash(), await early.pageHash()]).toEqual([expected, expected]);
    expect(await old.query('SELECT id, priority FROM todos ORDER BY id')).toEqual([
      { id: 'e0', priority: 0 },
      { id: 'e1', priority: 5 },
      { id: 'old0', priority: 0 },
      { id: 'old1', priority: 0 },
    ]);
  } finally {
    await Promise.all(docs.map((doc) => doc.close()));
    await coordinator.close();
    await rm(scratch, { recursive: true, force: true });
  }
}, 120_000);

test("a client whose stale pages the new reducer's migrate would fail on moves once its base caught up, and syncs without loss", async () => {
  const { scratch, coordinator, open } = await setup('tandem-upgrade-stale-');
  const docs: LocalDocument[] = [];
  try {
    const writer = await open('d', TODO_V1);
    const stale = await open('d', TODO_V1);
    docs.push(writer, stale);
    await writer.mutateBatch([
      { type: 'create', id: 'a', title: 'milk' },
      { type: 'create', id: 'b', title: 'milk' },
    ]);
    await writer.synced();
    await stale.caughtUp();
    await stale.goOffline();
    const mine = await stale.mutate({ type: 'create', id: 's', title: 'stale' });
    // The coordinator's copy loses its duplicate, so its migrate (a unique index on titles) succeeds;
    // the stale client's pages still hold two 'milk', on which that migrate fails.
    await writer.mutate({ type: 'delete', id: 'b' });
    await writer.synced();
    await deploy(coordinator, UNIQUE_V2);
    const v2 = coordinator.reducerHash;
    await expect.poll(() => writer.reducer.hash, { timeout: 20_000 }).toBe(v2);

    await stale.goOnline();
    await stale.synced();
    expect(stale.reducer).toEqual({ hash: v2, schemaVersion: 2 });
    expect(stale.status.syncError).toBeUndefined();
    expect(await stale.fate(mine.lsn)).toEqual({ lsn: mine.lsn, status: 'confirmed' });
    await writer.caughtUp();
    const expected = await coordinator.pageHash('d');
    expect([await writer.pageHash(), await stale.pageHash()]).toEqual([expected, expected]);
    expect(await stale.query('SELECT id FROM todos ORDER BY id')).toEqual([{ id: 'a' }, { id: 's' }]);
  } finally {
    await Promise.all(docs.map((doc) => doc.close()));
    await coordinator.close();
    await rm(scratch, { recursive: true, force: true });
  }
}, 120_000);
