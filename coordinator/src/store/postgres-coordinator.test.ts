// The coordinator on a PostgreSQL store, end to end: sync over real WebSockets, restarts, deploys, and
// the bin killed with SIGKILL while clients push.
import { readFile } from 'node:fs/promises';
import { expect, test } from 'vitest';
import { startCoordinator } from '../server.js';
import { connectToOwner, startCoordinatorProcess } from '../testing/coordinator-bin.js';
import { createTodos } from '../testing/pushes.js';
import { TestSyncClient } from '../testing/sync-client.js';
import { usePostgresCluster } from '../testing/use-postgres-cluster.js';

const reducer = new Uint8Array(
  await readFile(new URL('../../../reducers/todo/dist/reducer.wasm', import.meta.url)),
);
const v1 = new URL('../../../e2e/fixtures/todo-v1-reducer/dist/reducer.wasm', import.meta.url).pathname;
const OPERATOR = 'operator-token-for-the-tests';

const cluster = usePostgresCluster();
let databases = 0;

function database(): string {
  return cluster().createDatabase(`coordinator_${databases++}`);
}

test('a restarted coordinator on the same PostgreSQL keeps its documents, their journalId and their frames', async () => {
  const store = database();
  const first = await startCoordinator({ reducer, port: 0, workers: 1, store, checkpointEvery: 3 });
  const client = await TestSyncClient.connect(first.url, { docId: 'kept', timelineId: 'k' });
  const welcome = await client.next('welcome');
  for (let lsn = 0; lsn < 8; lsn++) {
    client.send(createTodos(lsn, 1));
    await client.next('push-result', (r) => r.appliedLsn === lsn);
  }
  await client.reach(welcome.head + 8);
  const hash = await first.pageHash('kept');
  expect(await client.hash()).toBe(hash);
  await first.close();

  const second = await startCoordinator({ reducer, port: 0, workers: 1, store, checkpointEvery: 3 });
  try {
    const back = await TestSyncClient.connect(second.url, {
      docId: 'kept',
      timelineId: 'k',
      journalId: welcome.journalId,
      cursor: client.cursor,
    });
    expect(await back.next('welcome')).toMatchObject({
      journalId: welcome.journalId,
      head: client.cursor,
      appliedLsn: 7,
    });
    expect(await second.pageHash('kept')).toBe(hash);
    expect(back.snapshots).toBe(0);
    // A client from the start takes the checkpoint and the frames after it.
    const fresh = await TestSyncClient.connect(second.url, { docId: 'kept', timelineId: 'f' });
    await fresh.reach((await fresh.next('welcome')).head);
    expect(await fresh.hash()).toBe(hash);
    expect(fresh.violations).toEqual([]);
    await Promise.all([back.close(), fresh.close()]);
  } finally {
    await second.close();
  }
});

test('a reducer deployed to a coordinator on PostgreSQL is kept there and still current after a restart', async () => {
  const store = database();
  const v1Bytes = new Uint8Array(await readFile(v1));
  const first = await startCoordinator({
    reducer: v1Bytes,
    port: 0,
    workers: 1,
    store,
    operatorToken: OPERATOR,
  });
  const given = first.reducerHash;
  const outcome = await first.deploy(reducer);
  expect(outcome.status).toBe('deployed');
  const deployed = first.reducerHash;
  expect(deployed).not.toBe(given);
  const migrated = await first.migrateAll();
  expect(migrated.documents).toEqual([]);
  await first.close();

  const second = await startCoordinator({ reducer: v1Bytes, port: 0, workers: 1, store });
  try {
    expect(second.reducerHash).toBe(deployed);
    // Both are still served by hash: a document left on the older one can still be opened.
    for (const sha of [given, deployed]) {
      expect((await fetch(`${second.url}/reducers/${sha}.wasm`)).status).toBe(200);
    }
  } finally {
    await second.close();
  }
});

test('a coordinator refuses a store URL that is not PostgreSQL, and a store given with a data folder', async () => {
  await expect(startCoordinator({ reducer, port: 0, store: 'mysql://x' })).rejects.toThrow(
    /postgres:\/\/ URL/,
  );
  await expect(startCoordinator({ reducer, port: 0, store: database(), dataDir: '/tmp/x' })).rejects.toThrow(
    /not both/,
  );
});

test('the bin on PostgreSQL, SIGKILLed while clients push, loses no acknowledged mutation', async () => {
  const store = database();
  const seed = Date.now() % 100_000;
  let random = seed;
  const next = (): number => {
    random = (random * 1_103_515_245 + 12_345) % 2 ** 31;
    return random / 2 ** 31;
  };
  // Each timeline's highest lsn the coordinator acknowledged (a push-result), across all rounds.
  const acknowledged = new Map<string, number>();
  const sent = new Map<string, number>();
  const timelines = ['a', 'b', 'c'];
  for (let round = 0; round < 3; round++) {
    // A killed coordinator's documents wait for its leases to expire: short, for a short test.
    const { child, url, exited } = await startCoordinatorProcess(['--store', store, '--lease-ms', '1000']);
    try {
      const clients = await Promise.all(
        timelines.map(async (timelineId) => {
          const { client, welcome } = await connectToOwner([url], 0, 'busy', timelineId, 40);
          // The marker the restarted coordinator reports covers everything acknowledged before the kill.
          expect(
            welcome.appliedLsn ?? -1,
            `seed ${seed}, round ${round}, ${timelineId}`,
          ).toBeGreaterThanOrEqual(acknowledged.get(timelineId) ?? -1);
          sent.set(timelineId, (welcome.appliedLsn ?? -1) + 1);
          return { client, timelineId };
        }),
      );
      const pushing = setInterval(() => {
        for (const { client, timelineId } of clients) {
          const from = sent.get(timelineId) ?? 0;
          const count = 1 + Math.floor(next() * 3);
          if (client.socket.readyState !== client.socket.OPEN) continue;
          client.send(createTodos(from, count));
          sent.set(timelineId, from + count);
        }
      }, 5);
      await new Promise((resolve) => setTimeout(resolve, 300 + next() * 700));
      child.kill('SIGKILL');
      await exited;
      clearInterval(pushing);
      // Every message received before the close is in `received` once `closed` resolves.
      for (const { client, timelineId } of clients) {
        await client.closed;
        for (const message of client.received) {
          if (message.type === 'push-result' && message.appliedLsn !== null) {
            acknowledged.set(timelineId, Math.max(acknowledged.get(timelineId) ?? -1, message.appliedLsn));
          }
        }
      }
    } finally {
      child.kill('SIGKILL');
    }
  }
  expect(
    [...acknowledged.values()].every((lsn) => lsn >= 0),
    `seed ${seed}`,
  ).toBe(true);
  const { child, url } = await startCoordinatorProcess(['--store', store, '--lease-ms', '1000']);
  try {
    for (const timelineId of timelines) {
      const { client, welcome } = await connectToOwner([url], 0, 'busy', timelineId, 40);
      expect(welcome.appliedLsn ?? -1, `seed ${seed}, ${timelineId}`).toBeGreaterThanOrEqual(
        acknowledged.get(timelineId) ?? -1,
      );
      await client.close();
    }
  } finally {
    child.kill('SIGKILL');
  }
  // Not a bound of the claim: four coordinator processes start one after another (~2.6 CPU-s each),
  // which took 40 s at load ~15 and past 60 s at load 12-21.
}, 180_000);
