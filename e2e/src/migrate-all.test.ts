// Migrating every document on request (issue 12, "and all of them on request"): `tandem-coordinator
// migrate` (POST /admin/migrate, operator token) moves each document of the data folder to the current
// reducer, one at a time while the coordinator serves, and answers per document: migrated from→to,
// already current, or failed with why (that document stays on its reducer, keeps serving, and is
// tried again by the next request). Each outcome is counted in /metrics.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLog, startCoordinator } from '@tandem/coordinator';
import { openDocument } from '@tandem/host-node';
import { expect, test } from 'vitest';
import { runCoordinatorBin } from './support/coordinator-bin.js';
import { REPO_ROOT } from './support/vite-server.js';

const TODO_V1 = join(REPO_ROOT, 'e2e/fixtures/todo-v1-reducer/dist/reducer.wasm');
const UNIQUE_V2 = join(REPO_ROOT, 'e2e/fixtures/todo-v2-unique-titles-reducer/dist/reducer.wasm');
const TOKEN = 'operator-token-for-migrate-all';
const UNIQUE_INDEX = "SELECT name FROM sqlite_schema WHERE type = 'index' AND name = 'todos_unique_title'";

const migrateWithBin = (url: string) => runCoordinatorBin(['migrate', '--url', url], TOKEN);

test('a migrate request moves every document to the current reducer one at a time while serving, and says for each: migrated, already current, or failed and why', async () => {
  const scratch = await mkdtemp(join(tmpdir(), 'tandem-migrate-all-'));
  const coordinator = await startCoordinator({
    reducer: await readFile(TODO_V1),
    dataDir: join(scratch, 'coordinator'),
    port: 0,
    operatorToken: TOKEN,
    log: createLog({ level: 'silent' }),
  });
  const coordinatorUrl = `${coordinator.url.replace('http', 'ws')}/sync`;
  const post = (token?: string) =>
    fetch(`${coordinator.url}/admin/migrate`, {
      method: 'POST',
      ...(token !== undefined && { headers: { authorization: `Bearer ${token}` } }),
    });
  try {
    // 'duplicates' holds two todos of one title: the unique-titles v2 cannot migrate it.
    for (const [docId, second] of [
      ['a list', 'bread'],
      ['b', 'eggs'],
      ['duplicates', 'milk'],
    ] as const) {
      const doc = await openDocument({ docId, reducer: TODO_V1, coordinatorUrl });
      await doc.mutateBatch([
        { type: 'create', id: 'a', title: 'milk' },
        { type: 'create', id: 'b', title: second },
      ]);
      await doc.synced();
      await doc.close();
    }

    expect((await post()).status).toBe(401);
    expect((await post('a wrong token, long enough')).status).toBe(401);
    const before = await (await post(TOKEN)).json();
    expect(before).toMatchObject({
      status: 'done',
      schemaVersion: 1,
      documents: [
        { docId: 'a list', outcome: 'current', schemaVersion: 1 },
        { docId: 'b', outcome: 'current', schemaVersion: 1 },
        { docId: 'duplicates', outcome: 'current', schemaVersion: 1 },
      ],
    });

    expect(await coordinator.deploy(new Uint8Array(await readFile(UNIQUE_V2)))).toMatchObject({
      status: 'deployed',
    });
    // A v1 client of the document that cannot move stays connected through the migration.
    const kept = await openDocument({ docId: 'duplicates', reducer: TODO_V1, coordinatorUrl });
    await kept.caughtUp();

    const { code, out } = await migrateWithBin(coordinator.url);
    expect(code, out).toBe(1);
    const lines = out.trim().split('\n');
    expect(lines.slice(0, 3)).toEqual([
      'a list: migrated 1 -> 2',
      'b: migrated 1 -> 2',
      expect.stringMatching(/^duplicates: failed: .*UNIQUE constraint failed/),
    ]);
    expect(lines[3]).toContain('3 documents, 1 failed');

    // Asked again: the moved ones are current, the failed one is tried again and fails again.
    const again = await (await post(TOKEN)).json();
    expect(again).toMatchObject({
      status: 'done',
      sha256: coordinator.reducerHash,
      schemaVersion: 2,
      documents: [
        { docId: 'a list', outcome: 'current', schemaVersion: 2 },
        { docId: 'b', outcome: 'current', schemaVersion: 2 },
        {
          docId: 'duplicates',
          outcome: 'failed',
          fromVersion: 1,
          toVersion: 2,
          reason: expect.stringContaining('UNIQUE constraint failed'),
        },
      ],
    });

    // The failed document kept serving its v1 client.
    const written = await kept.mutate({ type: 'create', id: 'c', title: 'tea' });
    await kept.synced();
    expect(await kept.fate(written.lsn)).toEqual({ lsn: written.lsn, status: 'confirmed' });
    expect(kept.status.syncError).toBeUndefined();
    expect(await kept.pageHash()).toBe(await coordinator.pageHash('duplicates'));
    await kept.close();

    // A moved document is whole at version 2 for a v2 client.
    const moved = await openDocument({ docId: 'b', reducer: UNIQUE_V2, coordinatorUrl });
    await moved.caughtUp();
    expect(await moved.query(UNIQUE_INDEX)).toEqual([{ name: 'todos_unique_title' }]);
    expect(await moved.pageHash()).toBe(await coordinator.pageHash('b'));
    await moved.close();

    const metrics = await (await fetch(`${coordinator.url}/metrics`)).text();
    expect(metrics).toContain('tandem_document_migrations_total{outcome="migrated"} 2');
    expect(metrics).toContain('tandem_document_migrations_total{outcome="current"} 5');
    expect(metrics).toContain('tandem_document_migrations_total{outcome="failed"} 2');
    // Also the open by the kept client's hello, before the first request.
    expect(metrics).toContain('tandem_migration_failures_total 3');
  } finally {
    await coordinator.close();
    await rm(scratch, { recursive: true, force: true });
  }
}, 120_000);
