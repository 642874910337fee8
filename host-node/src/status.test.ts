import { SyncFailure, type SyncStatus, TandemError } from '@tandem/runtime';
import { expect, test } from 'vitest';
import { openDocument } from './document.js';
import { TODO_REDUCER } from './testing/paths.js';

const turn = () => new Promise((resolve) => setTimeout(resolve, 0));

test('a document tells its status as it changes: pending count, the local reducer rejections (provisional), online, one event per turn', async () => {
  const doc = await openDocument({ docId: 'status', reducer: TODO_REDUCER });
  const heard: SyncStatus[] = [];
  doc.onStatus((status) => heard.push(status));
  expect(doc.status).toEqual({
    syncState: 'offline',
    pendingCount: 0,
    online: true,
    reducer: doc.reducer,
    rejections: [],
  });
  const made = [
    doc.mutate({ type: 'create', id: 'a', title: 'milk' }),
    doc.mutate({ type: 'create', id: 'b', title: 'x'.repeat(201) }),
  ];
  expect(doc.status.pendingCount).toBe(2);
  await Promise.all(made);
  await turn();
  expect(heard).toEqual([
    {
      syncState: 'offline',
      pendingCount: 2,
      online: true,
      reducer: doc.reducer,
      rejections: [{ lsn: 1, reason: 'title is longer than 200 characters', final: false }],
    },
  ]);
  expect(doc.status).toBe(heard[0]);
  await doc.goOffline();
  await doc.goOffline();
  await turn();
  expect(heard.map((s) => s.online)).toEqual([true, false]);
  await doc.goOnline();
  await turn();
  expect(heard.map((s) => s.online)).toEqual([true, false, true]);
  await doc.close();
  await turn();
  expect(heard.at(-1)?.syncState).toBe('closed');
  expect(doc.status.syncState).toBe('closed');
  await expect(doc.goOffline()).rejects.toThrow(TandemError);
  await expect(doc.goOnline()).rejects.toMatchObject({ kind: 'closed' });
});

test('once syncing stopped for good, the status says why, as plain data', async () => {
  const doc = await openDocument({ docId: 'status-failed', reducer: TODO_REDUCER });
  const heard: SyncStatus[] = [];
  doc.onStatus((status) => heard.push(status));
  doc.syncFailed(new SyncFailure('unauthorized', 'the coordinator refused the token'));
  await turn();
  expect(heard).toEqual([
    {
      syncState: 'offline',
      pendingCount: 0,
      online: true,
      reducer: doc.reducer,
      syncError: {
        kind: 'sync-failed',
        message: 'document status-failed stopped syncing: the coordinator refused the token',
        reason: 'unauthorized',
      },
      rejections: [],
    },
  ]);
  expect(JSON.parse(JSON.stringify(doc.status))).toEqual(doc.status);
  await doc.close();
});
