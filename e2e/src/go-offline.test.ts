// An app takes a document offline and back (LocalDocument.goOffline/goOnline) against a real coordinator
// (startCoordinator) over real WebSockets, and follows its status (onStatus): the state, the pending
// count, and the rejections — the local reducer's provisional ones, the coordinator's final ones.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Coordinator, startCoordinator } from '@tandem/coordinator';
import { openDocument } from '@tandem/host-node';
import type { SyncStatus } from '@tandem/runtime';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { REPO_ROOT } from './support/vite-server.js';

const TODO = join(REPO_ROOT, 'reducers/todo/dist/reducer.wasm');
const FAST = { backoffMs: 20, heartbeatMs: 1000 };
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let coordinator: Coordinator;
let url: string;
let docs = 0;

beforeEach(async () => {
  coordinator = await startCoordinator({ reducer: await readFile(TODO), port: 0, workers: 1 });
  url = `ws://127.0.0.1:${coordinator.port}/sync`;
});
afterEach(async () => {
  await coordinator.close();
});

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${coordinator.port}/metrics`)).text();
  let sum = 0;
  for (const match of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)$`, 'gm'))) {
    sum += Number(match[1]);
  }
  return sum;
}

test('a document taken offline keeps every mutation and pushes them all once back online, exactly once; its status goes offline → connecting → live with the pending count back to 0', async () => {
  const docId = `offline-${++docs}`;
  const doc = await openDocument({ docId, reducer: TODO, coordinatorUrl: url, sync: FAST });
  const other = await openDocument({ docId, reducer: TODO, coordinatorUrl: url, sync: FAST });
  try {
    await doc.mutate({ type: 'create', id: 'base', title: 'before' });
    await doc.synced();
    const heard: SyncStatus[] = [];
    doc.onStatus((status) => heard.push(status));

    await doc.goOffline();
    await doc.goOffline();
    await pause(20);
    expect(doc.status).toMatchObject({ syncState: 'offline', online: false, pendingCount: 0 });
    const hash = await coordinator.pageHash(docId);
    // Twenty edits: five todos each toggled three times (a toggle taken twice would leave it open).
    const made = [];
    for (let i = 0; i < 5; i++) {
      made.push(await doc.mutate({ type: 'create', id: `t${i}`, title: `todo ${i}` }));
      for (let k = 0; k < 3; k++) made.push(await doc.mutate({ type: 'toggle', id: `t${i}` }));
    }
    expect(made.every((result) => result.status === 'applied')).toBe(true);
    let waited: string | undefined;
    doc.synced().then(
      () => {
        waited = 'synced';
      },
      (error: Error) => {
        waited = error.message;
      },
    );
    // Many backoffs later: still offline, nothing reached the coordinator, and nothing waiting gave up.
    await pause(300);
    expect(doc.status).toMatchObject({ syncState: 'offline', online: false, pendingCount: 20 });
    expect(await metric('tandem_connections')).toBe(1);
    expect(await coordinator.pageHash(docId)).toBe(hash);
    expect(waited).toBeUndefined();

    await doc.goOnline();
    await doc.goOnline();
    await doc.synced();
    expect(waited).toBe('synced');
    for (const { lsn } of made) expect(await doc.fate(lsn)).toEqual({ lsn, status: 'confirmed' });
    expect(await metric('tandem_mutations_total')).toBe(21);
    while ((await other.query('SELECT count(*) AS n FROM todos'))[0]?.n !== 6) await pause(10);
    expect(await other.query('SELECT id, completed FROM todos ORDER BY id')).toEqual([
      { id: 'base', completed: 0 },
      ...[0, 1, 2, 3, 4].map((i) => ({ id: `t${i}`, completed: 1 })),
    ]);
    expect(await doc.pageHash()).toBe(await coordinator.pageHash(docId));

    await pause(0);
    const states = heard.map((status) => status.syncState).filter((s, i, all) => s !== all[i - 1]);
    expect(states).toEqual([
      'offline',
      'connecting',
      ...(states.includes('catching-up') ? ['catching-up'] : []),
      'live',
    ]);
    expect(heard[0]).toMatchObject({ syncState: 'offline', online: false });
    expect(Math.max(...heard.map((status) => status.pendingCount))).toBe(20);
    expect(heard.at(-1)).toEqual({
      syncState: 'live',
      pendingCount: 0,
      online: true,
      reducer: doc.reducer,
      rejections: [],
    });
    expect(doc.status).toBe(heard.at(-1));
  } finally {
    await doc.close();
    await other.close();
  }
});

test('the coordinator rejections are listed final with their reasons; a mutation rejected here but taken there is not listed', async () => {
  const docId = `rejections-${++docs}`;
  const doc = await openDocument({ docId, reducer: TODO, coordinatorUrl: url, sync: FAST });
  const other = await openDocument({ docId, reducer: TODO, coordinatorUrl: url, sync: FAST });
  try {
    await doc.goOffline();
    // Made elsewhere while this document is offline: it has never seen them.
    await other.mutate({ type: 'create', id: 'x', title: 'theirs' });
    await other.mutate({ type: 'create', id: 'y', title: 'theirs too' });
    await other.synced();

    const toggle = await doc.mutate({ type: 'toggle', id: 'x' });
    const long = await doc.mutate({ type: 'create', id: 'long', title: 'a'.repeat(201) });
    const clash = await doc.mutate({ type: 'create', id: 'y', title: 'mine' });
    expect([toggle.status, long.status, clash.status]).toEqual(['rejected', 'rejected', 'applied']);
    expect(doc.status.rejections).toEqual([
      { lsn: toggle.lsn, reason: "no todo with id 'x'", final: false },
      { lsn: long.lsn, reason: 'title is longer than 200 characters', final: false },
    ]);

    await doc.goOnline();
    await doc.synced();
    expect(await doc.fate(toggle.lsn)).toEqual({ lsn: toggle.lsn, status: 'confirmed' });
    expect(doc.status.rejections).toEqual([
      { lsn: long.lsn, reason: 'title is longer than 200 characters', final: true },
      { lsn: clash.lsn, reason: "a todo with id 'y' already exists", final: true },
    ]);
    expect(await doc.query('SELECT id, title, completed FROM todos ORDER BY id')).toEqual([
      { id: 'x', title: 'theirs', completed: 1 },
      { id: 'y', title: 'theirs too', completed: 0 },
    ]);
  } finally {
    await doc.close();
    await other.close();
  }
});
