// Nothing waits forever (issue 8, finding 8): once syncing stops for good, `fate()` and `synced()` reject
// with the typed sync error — the calls already waiting and every later one — and `close()` settles
// them with `closed`. Against a real coordinator (host-node documents over real WebSockets) for the
// failures one can provoke, and over a scripted socket for every kind of final failure.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCoordinator } from '@tandem/coordinator';
import { openDocument } from '@tandem/host-node';
import { reducerNegotiation } from '@tandem/migrations/negotiation';
import {
  type ClientMessage,
  decodeClientMessage,
  encodeMessage,
  type LocalDocument,
  MemoryByteStore,
  type ServerMessage,
  SyncFailure,
  syncWithCoordinator,
  TandemError,
  type WebSocketLike,
} from '@tandem/runtime';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { REPO_ROOT } from './support/vite-server.js';

const TODO = join(REPO_ROOT, 'reducers/todo/dist/reducer.wasm');
/** Another reducer of the todo reducer's schema version (2): neither older nor newer, so no negotiation cures it. */
const OTHER = join(REPO_ROOT, 'e2e/fixtures/todo-v2-unique-titles-reducer/dist/reducer.wasm');
const FAST = { backoffMs: 20, heartbeatMs: 1000 };
let scratch: string;
let docs = 0;
/** The scripted coordinator's HTTP side: it serves no reducer (a welcome's other one is not listed). */
let http: Server;
let scriptedUrl: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'tandem-sync-failure-'));
  http = createServer((_request, response) => response.writeHead(404).end());
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  scriptedUrl = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/sync`;
});
afterAll(async () => {
  await new Promise((resolve) => http.close(resolve));
  await rm(scratch, { recursive: true, force: true });
});

/** Records how a promise settled without leaving a rejection unhandled meanwhile. */
function outcome<T>(promise: Promise<T>): Promise<{ value: T } | { error: unknown }> {
  return promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

const failed = (reason: string) => ({
  error: expect.objectContaining({ name: 'TandemError', kind: 'sync-failed', fields: { reason } }),
});

/**
 * A document holding `count` mutations made offline, reopened to sync with `url`: its `fate` and
 * `synced` calls are made before it can have heard from the coordinator.
 */
async function pendingWhileConnecting(
  url: string,
  reducer: string,
  payload: unknown,
  count = 1,
): Promise<{ doc: LocalDocument; lsns: number[]; waiting: Promise<unknown>[] }> {
  const docId = `failure-${++docs}`;
  const storage = new MemoryByteStore();
  const offline = await openDocument({ docId, reducer, storage });
  const lsns: number[] = [];
  for (let i = 0; i < count; i++) lsns.push((await offline.mutate(payload)).lsn);
  await offline.close();
  const doc = await openDocument({ docId, reducer, storage, coordinatorUrl: url, sync: FAST });
  const waiting = [...lsns.map((lsn) => outcome(doc.fate(lsn))), outcome(doc.synced())];
  return { doc, lsns, waiting };
}

/** The claim: the waiting calls and later ones all reject with `sync-failed` for `reason`. */
async function expectFailedFor(
  doc: LocalDocument,
  lsns: readonly number[],
  waiting: readonly Promise<unknown>[],
  reason: string,
): Promise<void> {
  for (const settled of waiting) expect(await settled).toEqual(failed(reason));
  expect(doc.syncState).toBe('failed');
  expect(doc.syncError).toBeInstanceOf(TandemError);
  expect(doc.syncError?.cause).toBeInstanceOf(SyncFailure);
  for (const lsn of lsns) expect(await outcome(doc.fate(lsn))).toEqual(failed(reason));
  expect(await outcome(doc.synced())).toEqual(failed(reason));
}

test('a coordinator running another reducer of the same schema version: pending and later fate() and synced() reject with sync-failed (reducer-mismatch)', async () => {
  const coordinator = await startCoordinator({ reducer: await readFile(TODO), port: 0, workers: 1 });
  const url = `ws://127.0.0.1:${coordinator.port}/sync`;
  const { doc, lsns, waiting } = await pendingWhileConnecting(url, OTHER, {
    type: 'create',
    id: 'a',
    title: 'under another reducer',
  });
  try {
    await expectFailedFor(doc, lsns, waiting, 'reducer-mismatch');
  } finally {
    await doc.close();
    await coordinator.close();
  }
});

test('a coordinator refusing the token: pending and later fate() and synced() reject with sync-failed (unauthorized)', async () => {
  const coordinator = await startCoordinator({
    reducer: await readFile(TODO),
    port: 0,
    workers: 1,
    authorize: () => false,
  });
  const url = `ws://127.0.0.1:${coordinator.port}/sync`;
  const { doc, lsns, waiting } = await pendingWhileConnecting(url, TODO, {
    type: 'create',
    id: 'a',
    title: 'a',
  });
  try {
    await expectFailedFor(doc, lsns, waiting, 'unauthorized');
  } finally {
    await doc.close();
    await coordinator.close();
  }
});

test('a coordinator whose history was reset under the client: pending and later fate() and synced() reject with sync-failed (history-reset)', async () => {
  const dataDir = join(scratch, 'reset');
  let coordinator = await startCoordinator({ reducer: await readFile(TODO), dataDir, port: 0, workers: 1 });
  const port = coordinator.port;
  const url = `ws://127.0.0.1:${port}/sync`;
  const doc = await openDocument({
    docId: `reset-${++docs}`,
    reducer: TODO,
    coordinatorUrl: url,
    sync: FAST,
  });
  try {
    const taken = await doc.mutate({ type: 'create', id: 'a', title: 'taken' });
    await doc.synced();
    expect(await doc.fate(taken.lsn)).toEqual({ lsn: taken.lsn, status: 'confirmed' });
    await coordinator.close();
    await rm(dataDir, { recursive: true, force: true });
    const next = await doc.mutate({ type: 'create', id: 'b', title: 'after the reset' });
    const waiting = [outcome(doc.fate(next.lsn)), outcome(doc.synced())];
    coordinator = await startCoordinator({ reducer: await readFile(TODO), dataDir, port, workers: 1 });
    await expectFailedFor(doc, [next.lsn], waiting, 'history-reset');
    // What was known before the failure stays known.
    expect(await doc.fate(taken.lsn)).toEqual({ lsn: taken.lsn, status: 'confirmed' });
  } finally {
    await doc.close();
    await coordinator.close();
  }
});

test('a client with nothing pending whose coordinator lost writes it confirmed fails (history-reset) and keeps its rows, never taking the shorter history', async () => {
  const dataDir = join(scratch, 'reset-idle');
  let coordinator = await startCoordinator({ reducer: await readFile(TODO), dataDir, port: 0, workers: 1 });
  const port = coordinator.port;
  const doc = await openDocument({
    docId: `reset-idle-${++docs}`,
    reducer: TODO,
    coordinatorUrl: `ws://127.0.0.1:${port}/sync`,
    sync: FAST,
  });
  try {
    for (const id of ['a', 'b', 'c']) await doc.mutate({ type: 'create', id, title: id });
    await doc.synced();
    expect(doc.pendingCount).toBe(0);
    await coordinator.close();
    await rm(dataDir, { recursive: true, force: true });
    coordinator = await startCoordinator({ reducer: await readFile(TODO), dataDir, port, workers: 1 });
    await expect.poll(() => doc.syncState, { timeout: 20_000 }).toBe('failed');
    expect(doc.syncError?.fields.reason).toBe('history-reset');
    expect(await doc.query('SELECT id FROM todos ORDER BY id')).toEqual([
      { id: 'a' },
      { id: 'b' },
      { id: 'c' },
    ]);
  } finally {
    await doc.close();
    await coordinator.close();
  }
});

test('a client whose timeline lost records the coordinator took fails (timeline-damaged) instead of having its new mutations skipped as duplicates and reported confirmed', async () => {
  const coordinator = await startCoordinator({ reducer: await readFile(TODO), port: 0, workers: 1 });
  const coordinatorUrl = `ws://127.0.0.1:${coordinator.port}/sync`;
  const docId = `rolled-back-${++docs}`;
  const storage = new MemoryByteStore();
  const offline = await openDocument({ docId, reducer: TODO, storage });
  await offline.mutate({ type: 'create', id: 'a', title: 'a' });
  await offline.close();
  // An older copy of the folder: its timeline ends at lsn 0, as if the records after it were lost.
  const older = storage.crashImage({ keepUnsynced: true });
  const online = await openDocument({ docId, reducer: TODO, storage, coordinatorUrl, sync: FAST });
  await online.mutate({ type: 'create', id: 'b', title: 'b' });
  await online.mutate({ type: 'create', id: 'c', title: 'c' });
  await online.synced();
  await online.close();
  const doc = await openDocument({ docId, reducer: TODO, storage: older, coordinatorUrl, sync: FAST });
  try {
    const reused = await doc.mutate({ type: 'create', id: 'x', title: 'made after the loss' });
    expect(reused.lsn).toBe(1);
    const waiting = [outcome(doc.fate(reused.lsn)), outcome(doc.synced())];
    await expectFailedFor(doc, [reused.lsn], waiting, 'timeline-damaged');
  } finally {
    await doc.close();
    await coordinator.close();
  }
});

/** A store whose timeline files stop taking syncs once `broken` is set. */
class TimelineSyncFails extends MemoryByteStore {
  broken = false;
  override async sync(name: string): Promise<void> {
    if (this.broken && name.startsWith('timeline'))
      throw new Error('injected: the timeline cannot be synced');
    return super.sync(name);
  }
}

test('once its timeline cannot be written, a syncing document rejects waiting and later synced() and fate() with storage-failed', async () => {
  const coordinator = await startCoordinator({ reducer: await readFile(TODO), port: 0, workers: 1 });
  const storage = new TimelineSyncFails();
  const doc = await openDocument({
    docId: `timeline-fails-${++docs}`,
    reducer: TODO,
    storage,
    coordinatorUrl: `ws://127.0.0.1:${coordinator.port}/sync`,
    sync: FAST,
  });
  try {
    const first = await doc.mutate({ type: 'create', id: 'a', title: 'a' });
    await doc.synced();
    expect(await doc.fate(first.lsn)).toEqual({ lsn: first.lsn, status: 'confirmed' });
    storage.broken = true;
    const lost = outcome(doc.mutate({ type: 'create', id: 'b', title: 'b' }));
    const waiting = outcome(doc.synced());
    const storageFailed = { error: expect.objectContaining({ kind: 'storage-failed' }) };
    expect(await lost).toEqual(storageFailed);
    expect(await waiting).toEqual(storageFailed);
    expect(await outcome(doc.synced())).toEqual(storageFailed);
    expect(await outcome(doc.fate(first.lsn + 1))).toEqual(storageFailed);
  } finally {
    await doc.close();
    await coordinator.close();
  }
});

test('a coordinatorUrl no socket can open is refused at open with invalid-argument, instead of retrying forever', async () => {
  for (const coordinatorUrl of [
    'localhost:8787/sync',
    'http://localhost:8787/sync',
    'ws://local host/sync',
  ]) {
    expect(
      await outcome(openDocument({ docId: `bad-url-${++docs}`, reducer: TODO, coordinatorUrl })),
    ).toEqual({ error: expect.objectContaining({ kind: 'invalid-argument' }) });
  }
});

/** A coordinator's end of a socket, answering each client message with the script's messages. */
class ScriptedSocket implements WebSocketLike {
  binaryType = 'blob';
  readyState = 0;
  bufferedAmount = 0;
  readonly #listeners = new Map<string, ((event: { data: unknown }) => void)[]>();
  readonly #script: (message: ClientMessage) => readonly ServerMessage[];

  constructor(script: (message: ClientMessage) => readonly ServerMessage[], opens: boolean) {
    this.#script = script;
    if (opens) {
      setTimeout(() => {
        this.readyState = 1;
        this.#emit('open', undefined);
      }, 1);
    }
  }
  addEventListener(type: string, listener: (event: { data: unknown }) => void): void {
    this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener]);
  }
  send(data: Uint8Array): void {
    for (const message of this.#script(decodeClientMessage(data))) {
      const bytes = encodeMessage(message);
      setTimeout(() => this.#emit('message', bytes), 1);
    }
  }
  close(): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    setTimeout(() => this.#emit('close', undefined), 1);
  }
  #emit(type: string, data: unknown): void {
    if (type === 'message' && this.readyState !== 1) return;
    for (const listener of this.#listeners.get(type) ?? []) listener({ data });
  }
}

const HASH = 'ab'.repeat(32);
const welcome = (reducerHash = HASH): ServerMessage => ({
  type: 'welcome',
  journalId: 'j1',
  head: 0,
  reducerHash,
  appliedLsn: -1,
});
const refusal = (kind: 'unauthorized' | 'timeline-taken' | 'unsupported-version' | 'malformed') => () => [
  { type: 'error', kind, message: 'no', retryAfterMs: null } as const,
];

/** Every final failure, as the coordinator's answers to the client's messages. */
const FINAL_FAILURES: Record<string, (message: ClientMessage) => readonly ServerMessage[]> = {
  // Another reducer, which the coordinator's HTTP side does not serve.
  'reducer-mismatch': () => [welcome('cd'.repeat(32))],
  unauthorized: refusal('unauthorized'),
  'timeline-taken': refusal('timeline-taken'),
  'unsupported-version': refusal('unsupported-version'),
  malformed: refusal('malformed'),
  // It wants an lsn of this timeline the client no longer has: it lost what it had taken.
  'history-reset': (message) =>
    message.type === 'hello'
      ? [welcome()]
      : message.type === 'push'
        ? [
            {
              type: 'push-result',
              appliedLsn: -1,
              frameLsn: null,
              rejected: [],
              refused: { kind: 'gap', message: 'continues at 7', expectedLsn: 7 },
            },
          ]
        : [],
};

/** An in-memory document with `count` mutations, syncing over scripted sockets. */
async function scripted(
  script: (message: ClientMessage) => readonly ServerMessage[],
  opens = true,
): Promise<{ doc: LocalDocument; lsns: number[]; waiting: Promise<unknown>[] }> {
  const doc = await openDocument({ docId: `scripted-${++docs}`, reducer: TODO });
  const lsns: number[] = [];
  for (const id of ['a', 'b']) lsns.push((await doc.mutate({ type: 'create', id, title: id })).lsn);
  syncWithCoordinator(
    doc,
    HASH,
    { coordinatorUrl: scriptedUrl, sync: FAST },
    () => new ScriptedSocket(script, opens),
    reducerNegotiation,
  );
  const waiting = [...lsns.map((lsn) => outcome(doc.fate(lsn))), outcome(doc.synced())];
  return { doc, lsns, waiting };
}

for (const [reason, script] of Object.entries(FINAL_FAILURES)) {
  test(`every final sync failure rejects pending and later fate() and synced() with sync-failed: ${reason}`, async () => {
    const { doc, lsns, waiting } = await scripted(script);
    try {
      await expectFailedFor(doc, lsns, waiting, reason);
    } finally {
      await doc.close();
    }
  });
}

test('close() settles pending fate() and synced() with closed, and later calls reject with closed', async () => {
  const { doc, lsns, waiting } = await scripted(() => [], false);
  await doc.close();
  const closed = { error: expect.objectContaining({ name: 'TandemError', kind: 'closed' }) };
  for (const settled of waiting) expect(await settled).toEqual(closed);
  expect(await outcome(doc.fate(lsns[0]!))).toEqual(closed);
  expect(await outcome(doc.synced())).toEqual(closed);
});

test('a document that does not sync rejects fate() and synced() at once instead of waiting', async () => {
  const doc = await openDocument({ docId: `alone-${++docs}`, reducer: TODO });
  try {
    const { lsn } = await doc.mutate({ type: 'create', id: 'a', title: 'a' });
    const invalid = { error: expect.objectContaining({ name: 'TandemError', kind: 'invalid-argument' }) };
    expect(await outcome(doc.fate(lsn))).toEqual(invalid);
    expect(await outcome(doc.synced())).toEqual(invalid);
    expect(await outcome(doc.fate(lsn + 1))).toEqual(invalid);
  } finally {
    await doc.close();
  }
});
