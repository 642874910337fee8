// Every reducer a coordinator ran is kept in its data folder across restarts (reducer-registry.ts
// invariant 4). A document whose `migrate` failed stays on the reducer it had, which may be an earlier
// deploy: after a second deploy and a restart started with the newest reducer, it still opens there,
// serves that reducer's clients, and that reducer is still served by hash.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Coordinator, createLog, startCoordinator } from '@tandem/coordinator';
import { openDocument } from '@tandem/host-node';
import { expect, test } from 'vitest';
import { REPO_ROOT } from './support/vite-server.js';

const TODO_V1 = join(REPO_ROOT, 'e2e/fixtures/todo-v1-reducer/dist/reducer.wasm');
const UNIQUE_V2 = join(REPO_ROOT, 'e2e/fixtures/todo-v2-unique-titles-reducer/dist/reducer.wasm');
const TOKEN = 'operator-token-for-reducers-kept';

/** A component with a custom section appended: another reducer (another hash), same code and schema. */
function variant(component: Uint8Array, label: string): Uint8Array {
  const name = new TextEncoder().encode('tandem-test');
  const body = [name.length, ...name, ...new TextEncoder().encode(label)];
  return new Uint8Array([...component, 0, body.length, ...body]);
}

test('after two deploys and a restart with the newest reducer, a document left on the first deploy still opens, serves its clients and is served its reducer', async () => {
  const scratch = await mkdtemp(join(tmpdir(), 'tandem-reducers-kept-'));
  const dataDir = join(scratch, 'coordinator');
  const v1 = new Uint8Array(await readFile(TODO_V1));
  const v1Fix = variant(v1, 'fix');
  const v2 = new Uint8Array(await readFile(UNIQUE_V2));
  const start = (reducer: Uint8Array): Promise<Coordinator> =>
    startCoordinator({
      reducer,
      dataDir,
      port: 0,
      operatorToken: TOKEN,
      log: createLog({ level: 'silent' }),
    });
  let coordinator = await start(v1);
  try {
    let coordinatorUrl = `${coordinator.url.replace('http', 'ws')}/sync`;
    // Two todos of one title: v2's `migrate` (unique titles) fails on this document.
    const doc = await openDocument({ docId: 'duplicates', reducer: v1, coordinatorUrl });
    await doc.mutateBatch([
      { type: 'create', id: 'a', title: 'milk' },
      { type: 'create', id: 'b', title: 'milk' },
    ]);
    await doc.synced();
    await doc.close();

    expect(await coordinator.deploy(v1Fix)).toMatchObject({ status: 'deployed' });
    const fixHash = coordinator.reducerHash;
    // Opened once under the first deploy, then left there by the second.
    expect(await coordinator.pageHash('duplicates')).toMatch(/^[0-9a-f]{64}$/);
    expect(await coordinator.deploy(v2)).toMatchObject({ status: 'deployed' });
    const before = await coordinator.pageHash('duplicates');
    await coordinator.close();

    coordinator = await start(v2);
    coordinatorUrl = `${coordinator.url.replace('http', 'ws')}/sync`;
    const served = await fetch(`${coordinator.url}/reducers/${fixHash}.wasm`);
    expect(served.status).toBe(200);
    const kept = await openDocument({ docId: 'duplicates', reducer: v1Fix, coordinatorUrl });
    await kept.caughtUp();
    expect(kept.status.syncError).toBeUndefined();
    expect(await kept.pageHash()).toBe(before);
    const written = await kept.mutate({ type: 'create', id: 'c', title: 'bread' });
    expect(written.status).toBe('applied');
    await kept.synced();
    expect(await kept.fate(written.lsn)).toEqual({ lsn: written.lsn, status: 'confirmed' });
    expect(await kept.pageHash()).toBe(await coordinator.pageHash('duplicates'));
    await kept.close();
  } finally {
    await coordinator.close();
    await rm(scratch, { recursive: true, force: true });
  }
}, 120_000);
