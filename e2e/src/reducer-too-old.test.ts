// Never an older reducer over a newer schema (issue 12, must-show 4): a document whose database a
// version 2 reducer migrated is refused to the version 1 reducer with `reducer-too-old`, naming both
// versions, on a client (also one whose newer version lives only in its overlay of pending mutations)
// and on the coordinator, and the refusal writes nothing: every file of the document is byte for byte
// what it was. Chromium over OPFS: reducer-too-old-browser.test.ts.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { startCoordinator } from '@tandem/coordinator';
import { documentFolder, openDocument } from '@tandem/host-node';
import { TandemError } from '@tandem/runtime';
import { expect, test } from 'vitest';
import { REPO_ROOT } from './support/vite-server.js';

const TODO_V1 = join(REPO_ROOT, 'e2e/fixtures/todo-v1-reducer/dist/reducer.wasm');
const TODO_V2 = join(REPO_ROOT, 'reducers/todo/dist/reducer.wasm');
const TODO_V3 = join(REPO_ROOT, 'e2e/fixtures/todo-v3-reducer/dist/reducer.wasm');

/** Every file under `folder`, by its path relative to it, with its bytes. */
async function filesUnder(folder: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const entry of await readdir(folder, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(relative(folder, path), await readFile(path));
  }
  return files;
}

async function refusal(opening: Promise<unknown>): Promise<TandemError> {
  const error = await opening.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TandemError);
  return error as TandemError;
}

test('a document at schema version 2 is refused to the version 1 reducer, on the client and on the coordinator, and nothing of it is written', async () => {
  const scratch = await mkdtemp(join(tmpdir(), 'tandem-too-old-'));
  const serverData = join(scratch, 'coordinator');
  const clientData = join(scratch, 'client');
  try {
    const v2 = await startCoordinator({ reducer: await readFile(TODO_V2), dataDir: serverData, port: 0 });
    const coordinatorUrl = `${v2.url.replace('http', 'ws')}/sync`;
    const doc = await openDocument({ docId: 'd', reducer: TODO_V2, dataDir: clientData, coordinatorUrl });
    await doc.mutate({ type: 'create', id: 'a', title: 'milk', priority: 3 });
    await doc.synced();
    await doc.caughtUp();
    await doc.close();
    await v2.close();

    // The client: its base holds the coordinator's version 2 pages.
    const clientFiles = await filesUnder(clientData);
    const local = await refusal(openDocument({ docId: 'd', reducer: TODO_V1, dataDir: clientData }));
    expect(local.kind).toBe('reducer-too-old');
    expect(local.fields).toMatchObject({ documentVersion: 2, reducerVersion: 1 });
    expect(local.message).toMatch(/schema version 2 .*version 1/);
    expect(await filesUnder(clientData)).toEqual(clientFiles);

    // The coordinator: started with version 1 over the same documents, without the version 2 its data
    // folder recorded current (which it would run: coordinator README), it refuses the document when
    // it opens.
    await rm(join(serverData, '.reducers'), { recursive: true });
    const serverFolder = documentFolder(serverData, 'd');
    const serverFiles = await filesUnder(serverFolder);
    const v1 = await startCoordinator({ reducer: await readFile(TODO_V1), dataDir: serverData, port: 0 });
    try {
      const authority = await refusal(v1.pageHash('d'));
      expect(authority.kind).toBe('reducer-too-old');
      expect(authority.fields).toMatchObject({ documentVersion: 2, reducerVersion: 1 });
    } finally {
      await v1.close();
    }
    expect(serverFiles.size).toBeGreaterThan(0);
    expect(await filesUnder(serverFolder)).toEqual(serverFiles);

    // Version 2 still opens it, whole.
    const reopened = await openDocument({ docId: 'd', reducer: TODO_V2, dataDir: clientData });
    expect(await reopened.query('SELECT id, priority FROM todos')).toEqual([{ id: 'a', priority: 3 }]);
    await reopened.close();
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}, 60_000);

test('a document that never synced, whose pending mutations a version 2 reducer wrote, is refused to the version 1 reducer, and nothing of it is written', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'tandem-too-old-local-'));
  try {
    // Its base is empty (schema version 0): version 2 lives only in its overlay, rebuilt at each open
    // from the timeline under the reducer it is given.
    const doc = await openDocument({ docId: 'd', reducer: TODO_V2, dataDir });
    await doc.mutate({ type: 'create', id: 'a', title: 'milk', priority: 3 });
    await doc.close();

    const files = await filesUnder(dataDir);
    const refused = await refusal(openDocument({ docId: 'd', reducer: TODO_V1, dataDir }));
    expect(refused.kind).toBe('reducer-too-old');
    expect(refused.fields).toMatchObject({ documentVersion: 2, reducerVersion: 1 });
    expect(await filesUnder(dataDir)).toEqual(files);

    const reopened = await openDocument({ docId: 'd', reducer: TODO_V2, dataDir });
    expect(await reopened.query('SELECT id, priority FROM todos')).toEqual([{ id: 'a', priority: 3 }]);
    await reopened.close();
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}, 60_000);

test('a client the coordinator moved to version 2 reopens offline with the app still on version 1: the version 2 it fetched, kept beside its files, opens it with its pending mutations', async () => {
  const scratch = await mkdtemp(join(tmpdir(), 'tandem-too-old-kept-'));
  const dataDir = join(scratch, 'client');
  const token = 'operator-token-for-the-kept-reducer-test';
  const coordinator = await startCoordinator({
    reducer: await readFile(TODO_V1),
    dataDir: join(scratch, 'coordinator'),
    port: 0,
    operatorToken: token,
  });
  const coordinatorUrl = `${coordinator.url.replace('http', 'ws')}/sync`;
  const sync = { backoffMs: 20, maxBackoffMs: 200 };
  try {
    const doc = await openDocument({ docId: 'd', reducer: TODO_V1, dataDir, coordinatorUrl, sync });
    await doc.mutate({ type: 'create', id: 'a', title: 'milk' });
    await doc.synced();
    const moved = new Promise((resolve) => doc.onUpgrade(resolve));
    const deployed = await fetch(`${coordinator.url}/admin/reducers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: new Blob([new Uint8Array(await readFile(TODO_V2))]),
    });
    expect(deployed.status, await deployed.clone().text()).toBe(200);
    await moved;
    expect(doc.reducer.schemaVersion).toBe(2);
    await doc.goOffline();
    await doc.mutate({ type: 'setPriority', id: 'a', priority: 7 });
    await doc.mutate({ type: 'create', id: 'b', title: 'bread' });
    const pages = await doc.pageHash();
    await doc.close();
    await coordinator.close();

    // The coordinator is gone: nothing can be fetched, and the app still ships version 1.
    const reopened = await openDocument({ docId: 'd', reducer: TODO_V1, dataDir, coordinatorUrl, sync });
    expect(reopened.reducer).toEqual(doc.reducer);
    expect(reopened.pendingCount).toBe(2);
    expect(await reopened.query('SELECT id, priority FROM todos ORDER BY id')).toEqual([
      { id: 'a', priority: 7 },
      { id: 'b', priority: 0 },
    ]);
    expect(await reopened.pageHash()).toBe(pages);
    await reopened.close();
  } finally {
    await coordinator.close().catch(() => undefined);
    await rm(scratch, { recursive: true, force: true });
  }
}, 60_000);

/** Flips a byte in the middle of the reducer kept beside the schema mark in `folder` (there is one). */
async function damageKeptReducer(folder: string): Promise<void> {
  const kept = (await readdir(folder)).filter((name) => name.startsWith('reducer.'));
  expect(kept).toHaveLength(1);
  const path = join(folder, kept[0]!);
  const bytes = await readFile(path);
  bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0x5a;
  await writeFile(path, bytes);
}

test('a client whose kept reducer is damaged reopens online with the coordinator’s current one, which is kept in its place: the next reopen offline with version 1 runs it, at a newer version or the same', async () => {
  const scratch = await mkdtemp(join(tmpdir(), 'tandem-too-old-fetched-'));
  const dataDir = join(scratch, 'client');
  const folder = documentFolder(dataDir, 'd');
  const start = async (reducer: string) =>
    startCoordinator({ reducer: await readFile(reducer), dataDir: join(scratch, 'coordinator'), port: 0 });
  let coordinator = await start(TODO_V1);
  let coordinatorUrl = `${coordinator.url.replace('http', 'ws')}/sync`;
  const sync = { backoffMs: 20, maxBackoffMs: 200 };
  const open = () => openDocument({ docId: 'd', reducer: TODO_V1, dataDir, coordinatorUrl, sync });
  try {
    const doc = await open();
    await doc.mutate({ type: 'create', id: 'a', title: 'milk' });
    await doc.synced();
    const moved = new Promise((resolve) => doc.onUpgrade(resolve));
    expect((await coordinator.deploy(new Uint8Array(await readFile(TODO_V2)))).status).toBe('deployed');
    await moved;
    await doc.close();

    // The kept version 2 is damaged while the coordinator moves on to version 3: the reopen with the
    // app's version 1 is refused, and the host opens with the coordinator's version 3 instead.
    await damageKeptReducer(folder);
    expect((await coordinator.deploy(new Uint8Array(await readFile(TODO_V3)))).status).toBe('deployed');
    const online = await open();
    expect(online.reducer).toEqual({ hash: coordinator.reducerHash, schemaVersion: 3 });
    await online.mutate({ type: 'setPriority', id: 'a', priority: 5 });
    await online.synced();
    await online.close();
    await coordinator.close();

    const rows = [{ id: 'a', priority: 5, note: '' }];
    const offline = await open();
    expect(offline.reducer.schemaVersion).toBe(3);
    expect(await offline.query('SELECT id, priority, note FROM todos')).toEqual(rows);
    await offline.close();

    // The same at the marked version: the coordinator's version 3 replaces a damaged kept version 3.
    await damageKeptReducer(folder);
    coordinator = await start(TODO_V3);
    coordinatorUrl = `${coordinator.url.replace('http', 'ws')}/sync`;
    const again = await open();
    expect(again.reducer.schemaVersion).toBe(3);
    await again.close();
    await coordinator.close();
    const last = await open();
    expect(last.reducer.schemaVersion).toBe(3);
    expect(await last.query('SELECT id, priority, note FROM todos')).toEqual(rows);
    await last.close();
  } finally {
    await coordinator.close().catch(() => undefined);
    await rm(scratch, { recursive: true, force: true });
  }
}, 60_000);
