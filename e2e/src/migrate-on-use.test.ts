// Authoritative migration when a document is next used (issue 12, must-show 3): after a deploy each
// document reopens under the new reducer and `migrate` runs there as an ordinary frame. A version 2 whose
// `migrate(1)` fails on one document (e2e/fixtures/todo-v2-unique-titles-reducer: unique titles, which a
// document holding two todos of one title breaks) leaves that document on version 1, serving version 1
// clients, and says why in the log and /metrics; the other document moves to version 2.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLog, startCoordinator } from '@tandem/coordinator';
import { openDocument } from '@tandem/host-node';
import { expect, test } from 'vitest';
import { REPO_ROOT } from './support/vite-server.js';

const TODO_V1 = join(REPO_ROOT, 'e2e/fixtures/todo-v1-reducer/dist/reducer.wasm');
const UNIQUE_V2 = join(REPO_ROOT, 'e2e/fixtures/todo-v2-unique-titles-reducer/dist/reducer.wasm');
const UNIQUE_INDEX = "SELECT name FROM sqlite_schema WHERE type = 'index' AND name = 'todos_unique_title'";

test('a migrate that fails on one document leaves it on version 1, serving version 1 clients, reports why, and moves the others to version 2', async () => {
  const scratch = await mkdtemp(join(tmpdir(), 'tandem-migrate-on-use-'));
  const lines: Record<string, unknown>[] = [];
  const coordinator = await startCoordinator({
    reducer: await readFile(TODO_V1),
    dataDir: join(scratch, 'coordinator'),
    port: 0,
    operatorToken: 'operator-token-for-migrate-on-use',
    log: createLog({ level: 'info', destination: { write: (line) => lines.push(JSON.parse(line)) } }),
  });
  const coordinatorUrl = `${coordinator.url.replace('http', 'ws')}/sync`;
  try {
    for (const [docId, second] of [
      ['unique', 'bread'],
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
    const v1Hash = coordinator.reducerHash;
    const before = await coordinator.pageHash('duplicates');

    const outcome = await coordinator.deploy(new Uint8Array(await readFile(UNIQUE_V2)));
    expect(outcome.status).toBe('deployed');
    const v2Hash = coordinator.reducerHash;

    // Moved: a version 2 client finds the migration's frame among the others.
    const moved = await openDocument({ docId: 'unique', reducer: UNIQUE_V2, coordinatorUrl });
    await moved.caughtUp();
    expect(await moved.query(UNIQUE_INDEX)).toEqual([{ name: 'todos_unique_title' }]);
    expect(await moved.pageHash()).toBe(await coordinator.pageHash('unique'));
    expect(moved.status.syncError).toBeUndefined();
    await moved.close();

    // Kept: the document is as it was, and a version 1 client is welcomed and writes on.
    const kept = await openDocument({ docId: 'duplicates', reducer: TODO_V1, coordinatorUrl });
    await kept.caughtUp();
    expect(await kept.pageHash()).toBe(before);
    expect(await kept.query(UNIQUE_INDEX)).toEqual([]);
    const written = await kept.mutate({ type: 'create', id: 'c', title: 'milk' });
    expect(written.status).toBe('applied');
    await kept.synced();
    expect(await kept.fate(written.lsn)).toEqual({ lsn: written.lsn, status: 'confirmed' });
    expect(await kept.pageHash()).toBe(await coordinator.pageHash('duplicates'));
    expect(kept.status.syncError).toBeUndefined();
    await kept.close();

    const failures = lines.filter((line) => line.msg === 'migration failed');
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({
      docId: 'duplicates',
      fromVersion: 1,
      toVersion: 2,
      reducerHash: v2Hash,
      reason: expect.stringContaining('UNIQUE constraint failed'),
    });
    const metrics = await (await fetch(`${coordinator.url}/metrics`)).text();
    expect(metrics).toContain('tandem_migration_failures_total 1');
    expect(v1Hash).not.toBe(v2Hash);
  } finally {
    await coordinator.close();
    await rm(scratch, { recursive: true, force: true });
  }
}, 120_000);
