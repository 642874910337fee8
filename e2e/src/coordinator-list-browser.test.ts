// A tab given several coordinators (issue 13, in Chromium): two coordinators share one PostgreSQL and
// one of them owns the document. The tab's list holds an address nothing answers at and the coordinator
// that does not own the document; the owner's origin is only in `redirectOrigins`. The owner worker
// moves past the dead address, follows the redirect to the owner (allowed by redirectOrigins alone), and
// its edits are confirmed there. When the owner closes, the tab moves on down
// its list, the other coordinator takes the document over, and nothing the tab or a Node client wrote
// is lost: all of them end on the same pages.
import { type Coordinator, startCoordinator } from '@tandem/coordinator';
import { type PostgresCluster, startPostgresCluster } from '@tandem/coordinator/testing/postgres';
import { type LocalDocument, openDocument } from '@tandem/host-node';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { TODO_REDUCER, useBrowserRig } from './support/browser-rig.js';
import { freePort } from './support/free-port.js';
import { callOwner, mutateOwner, openOwner, untilStatus } from './support/owner-page.js';

const rig = useBrowserRig('owner-page');
let cluster: PostgresCluster;

beforeAll(async () => {
  cluster = await startPostgresCluster();
}, 120_000);

afterAll(async () => {
  await cluster?.destroy();
});

/** A local address that refuses connections. */
async function deadSyncUrl(): Promise<string> {
  return `ws://127.0.0.1:${await freePort()}/sync`;
}

function syncUrl(coordinator: Coordinator): string {
  return `${coordinator.url.replace('http', 'ws')}/sync`;
}

async function owned(coordinator: Coordinator): Promise<readonly string[]> {
  const health = (await (await fetch(`${coordinator.url}/health`)).json()) as { owned?: string[] };
  return health.owned ?? [];
}

async function redirects(coordinator: Coordinator): Promise<number> {
  const metrics = await (await fetch(`${coordinator.url}/metrics`)).text();
  const line = metrics.split('\n').find((l) => l.startsWith('tandem_redirects_total'));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

test('a tab given a list of coordinators skips a dead one, follows the redirect to the owner, and moves on when the owner goes, losing nothing', async () => {
  const docId = 'listed';
  const start = (): Promise<Coordinator> =>
    // The default lease (10 s): the owner closes, releasing it, so nothing here waits for an expiry, and a
    // short lease would be lost on a loaded machine when PostgreSQL answers a renewal late.
    startCoordinator({ reducer: TODO_REDUCER, store: cluster.url, port: 0 });
  let owner: Coordinator | undefined = await start();
  const other = await start();
  const context = await rig.browser.newContext();
  const errors: string[] = [];
  let node: LocalDocument | undefined;
  try {
    // The Node client reaches the owner first, so the owner holds the document's lease.
    node = await openDocument({
      docId,
      reducer: TODO_REDUCER,
      coordinatorUrl: [syncUrl(owner), syncUrl(other)],
      sync: { backoffMs: 20, maxBackoffMs: 200 },
    });
    await node.mutate({ type: 'create', id: 'n0', title: 'from node' });
    await node.synced();
    expect(await owned(owner)).toEqual([docId]);

    const page = await context.newPage();
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(rig.server.url);
    await page.waitForFunction(() => window.owner !== undefined);
    await openOwner(page, rig.reducer, {
      docId,
      coordinatorUrl: [await deadSyncUrl(), syncUrl(other)],
      redirectOrigins: [new URL(syncUrl(owner)).origin],
      persist: false,
    });
    const before = [
      await mutateOwner(page, { type: 'create', id: 't0', title: 'tab, first owner' }),
      await mutateOwner(page, { type: 'create', id: 't1', title: 'tab, first owner' }),
    ];
    await callOwner(page, () => window.owner.synced());
    expect(await redirects(other)).toBeGreaterThanOrEqual(1);
    expect(await owned(other)).toEqual([]);
    expect(await callOwner(page, () => window.owner.pageHash())).toBe(await owner.pageHash(docId));

    // The owner goes; its lease is released and the other coordinator takes the document on demand.
    await owner.close();
    owner = undefined;
    const after = [
      await mutateOwner(page, { type: 'create', id: 't2', title: 'tab, second owner' }),
      await mutateOwner(page, { type: 'create', id: 't3', title: 'tab, second owner' }),
    ];
    await node.mutate({ type: 'create', id: 'n1', title: 'from node, second owner' });
    await untilStatus(page, "s.syncState === 'live' && s.pendingCount === 0");
    await callOwner(page, () => window.owner.synced());
    await node.synced();
    expect(await owned(other)).toEqual([docId]);
    for (const lsn of [...before, ...after]) {
      expect(await page.evaluate((at) => window.owner.fate(at), lsn)).toEqual({
        ok: true,
        value: { lsn, status: 'confirmed' },
      });
    }
    const ids = ['n0', 'n1', 't0', 't1', 't2', 't3'];
    await page.waitForFunction((want) => JSON.stringify(window.owner.ids()) === want, JSON.stringify(ids));
    await node.caughtUp();
    expect((await node.query('SELECT id FROM todos ORDER BY id')).map((row) => row.id)).toEqual(ids);
    const hash = await other.pageHash(docId);
    expect(await callOwner(page, () => window.owner.pageHash())).toBe(hash);
    expect(await node.pageHash()).toBe(hash);
    expect(errors).toEqual([]);
  } finally {
    await node?.close();
    await context.close();
    await owner?.close();
    await other.close();
  }
}, 120_000);
