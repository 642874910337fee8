// One writer per client folder, end to end: two opens of one document folder used to read the same
// timeline id and secret, give the same lsn to different mutations, and the coordinator took the first
// and skipped the second as a duplicate while both were reported `confirmed`.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCoordinator } from '@tandem/coordinator';
import { type LocalDocument, openDocument } from '@tandem/host-node';
import { TandemError } from '@tandem/runtime';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { REPO_ROOT } from './support/vite-server.js';

const TODO = join(REPO_ROOT, 'reducers/todo/dist/reducer.wasm');
const FAST = { backoffMs: 20, heartbeatMs: 1000 };
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'tandem-single-writer-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

test('two opens of one client folder, each mutating, can no longer lose a mutation reported confirmed', async () => {
  const coordinator = await startCoordinator({
    reducer: await readFile(TODO),
    dataDir: join(scratch, 'coordinator'),
    port: 0,
    workers: 1,
  });
  const url = `${coordinator.url.replace('http', 'ws')}/sync`;
  const docId = 'ledger';
  const dataDir = join(scratch, 'client');
  const opened: LocalDocument[] = [];
  const refusals: TandemError[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      try {
        opened.push(await openDocument({ docId, reducer: TODO, dataDir, coordinatorUrl: url, sync: FAST }));
      } catch (error) {
        if (!(error instanceof TandemError)) throw error;
        refusals.push(error);
      }
    }
    const confirmed: string[] = [];
    for (const [i, doc] of opened.entries()) {
      for (let k = 0; k < 3; k++) {
        const id = `open${i}-${k}`;
        const { lsn } = await doc.mutate({ type: 'create', id, title: id });
        if ((await doc.fate(lsn)).status === 'confirmed') confirmed.push(id);
      }
    }
    // Whatever was reported confirmed is on the coordinator, as a client that never saw the folder reads it.
    const reader = await openDocument({ docId, reducer: TODO, coordinatorUrl: url, sync: FAST });
    try {
      // Caught up once its pages are the coordinator's (after the writers' fates, nothing else changes them).
      while ((await reader.pageHash()) !== (await coordinator.pageHash(docId)))
        await new Promise((resolve) => setTimeout(resolve, 20));
      const present = new Set((await reader.query('SELECT id FROM todos')).map((row) => String(row.id)));
      expect(confirmed.filter((id) => !present.has(id))).toEqual([]);
    } finally {
      await reader.close();
    }
    // The second open was refused, loudly and by kind: the first one kept writing alone.
    expect(opened).toHaveLength(1);
    expect(refusals.map((error) => error.kind)).toEqual(['document-locked']);
    expect(confirmed).toHaveLength(3);
  } finally {
    for (const doc of opened) await doc.close();
    await coordinator.close();
  }
});
