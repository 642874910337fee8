// A document whose SyncClient arrives after it opened (sync-attachment.ts): until then it reads as a
// client just started, and nothing made or asked meanwhile is lost.
import { expect, test } from 'vitest';
import type { SyncStatus } from './document-status.js';
import type { TandemError } from './errors.js';
import { openClient, settle, sqlPayload } from './reactive/documents.test-helpers.js';
import { SyncClient } from './sync/sync-client.js';
import { ScriptedSocket } from './sync/testing/scripted-sync.js';

const HASH = 'ab'.repeat(32);

async function later() {
  const { document } = await openClient();
  const sockets: ScriptedSocket[] = [];
  const client = new SyncClient(document, {
    url: 'ws://coordinator/sync',
    connect: () => {
      const socket = new ScriptedSocket();
      sockets.push(socket);
      return socket;
    },
    reducerHash: HASH,
    backoffMs: 1,
    maxBackoffMs: 2,
    random: () => 0.5,
  });
  let arrive!: () => void;
  document.expectSync(
    new Promise<void>((resolve) => {
      arrive = () => {
        document.attachSync(client);
        resolve();
      };
    }),
  );
  return { document, sockets, client, arrive };
}

/** What `promise` rejects with (or resolves to), its rejection handled at once. */
const outcome = (promise: Promise<unknown>): Promise<unknown> => promise.catch((error: unknown) => error);

const settledYet = (promise: Promise<unknown>) => {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  return () => settled;
};

test('before its client arrives a syncing document reads as connecting; the mutations made meanwhile are pushed by its first session and their fates settle', async () => {
  const { document, sockets, arrive } = await later();
  const heard: SyncStatus[] = [];
  document.onStatus((status) => heard.push(status));
  expect(document.status.syncState).toBe('connecting');
  await document.mutateBatch([sqlPayload('CREATE TABLE t(x)'), sqlPayload('INSERT INTO t VALUES (1)')]);
  const fate = document.fate(1);
  const caughtUp = outcome(document.caughtUp());
  const fateSettled = settledYet(fate);
  await settle();
  expect(fateSettled(), 'a fate waits for the client, as for one connecting').toBe(false);

  arrive();
  const socket = sockets[0]!;
  socket.open();
  expect(socket.sent[0]).toMatchObject({ type: 'hello', cursor: 0, reducerHash: HASH });
  socket.say({ type: 'welcome', journalId: 'j1', head: 0, reducerHash: HASH, appliedLsn: -1 });
  await settle();
  expect(document.syncState).toBe('live');
  expect(socket.sent.slice(1).map((m) => m.type)).toEqual(['ask-head', 'push']);
  expect(socket.sent[2]).toMatchObject({ type: 'push', mutations: [{ lsn: 0 }, { lsn: 1 }] });
  socket.say({ type: 'push-result', appliedLsn: 1, frameLsn: null, rejected: [], refused: null });
  expect(await fate).toEqual({ lsn: 1, status: 'confirmed' });
  await settle();
  const states = heard.map((status) => status.syncState).filter((s, i, all) => s !== all[i - 1]);
  expect(states, 'never offline on the way').toEqual(['connecting', 'live']);

  await document.close();
  expect(await caughtUp).toMatchObject({ kind: 'closed' });
});

test('taken offline before its client arrives, a document stays offline: the client connects only once it is back online', async () => {
  const { document, sockets, arrive } = await later();
  await document.goOffline();
  expect(document.status).toMatchObject({ syncState: 'offline', online: false });
  arrive();
  await settle();
  expect(sockets).toEqual([]);
  expect(document.status).toMatchObject({ syncState: 'offline', online: false });
  await document.goOnline();
  expect(sockets).toHaveLength(1);
  expect(document.status).toMatchObject({ syncState: 'connecting', online: true });
  await document.close();
});

test('a document closed before its client arrives never starts it, and what waited on it rejects as closed', async () => {
  const { document, sockets, client, arrive } = await later();
  await document.mutate(sqlPayload('CREATE TABLE t(x)'));
  const fate = outcome(document.fate(0));
  const caughtUp = outcome(document.caughtUp());
  await document.close();
  arrive();
  await settle();
  expect(sockets).toEqual([]);
  expect(client.state).toBe('offline');
  expect(await fate).toMatchObject({ kind: 'closed' });
  expect(await caughtUp).toMatchObject({ kind: 'closed' });
});

test('a client that cannot be made stops syncing for good: fates, synced and caughtUp reject with sync-failed, and the status says why', async () => {
  const { document } = await openClient();
  await document.mutate(sqlPayload('CREATE TABLE t(x)'));
  let fail!: (error: Error) => void;
  document.expectSync(
    new Promise<void>((_, reject) => {
      fail = reject;
    }),
  );
  const waits = [document.fate(0), document.synced(), document.caughtUp()].map(outcome);
  fail(new Error('the chunk did not load'));
  const failed = { kind: 'sync-failed', fields: { reason: 'client-unavailable' } };
  for (const wait of waits) expect(await wait).toMatchObject(failed);
  expect(document.status).toMatchObject({
    syncState: 'failed',
    pendingCount: 1,
    syncError: { kind: 'sync-failed', reason: 'client-unavailable' },
  });
  expect((document.syncError as TandemError).message).toContain('the chunk did not load');
  await document.close();
});

test('a document syncs through one client: a second attach or expect is refused', async () => {
  const { document, client, arrive } = await later();
  expect(() => document.expectSync(Promise.resolve())).toThrow(/already syncs/);
  arrive();
  expect(() => document.attachSync(client)).toThrow(/already syncs/);
  await document.close();
});
