// A client that ends without `close` (a closed tab, a killed process) once the coordinator took its
// mutations: the timeline must not keep them for the next open to read, and the lsns must go on.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCoordinator } from '@tandem/coordinator';
import { documentFolder, FsByteStore, openDocument } from '@tandem/host-node';
import { DocumentJournal } from '@tandem/runtime';
import { expect, test } from 'vitest';
import { REPO_ROOT } from './support/vite-server.js';

const TODO = join(REPO_ROOT, 'reducers/todo/dist/reducer.wasm');
const RUN_TS = join(REPO_ROOT, 'host-node/src/testing/run-ts.mjs');
const CHILD = join(REPO_ROOT, 'e2e/src/support/fill-then-die.ts');
const COUNT = 2000;

function fillThenDie(dataDir: string, docId: string, url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUN_TS, CHILD, dataDir, docId, TODO, url, String(COUNT)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve();
      else reject(new Error(`the child exited with ${code} instead of being killed: ${stderr}`));
    });
  });
}

test('a client killed a second after its mutations were confirmed keeps none in its timeline, reopens without replaying them, and goes on at the next lsn', async () => {
  const scratch = await mkdtemp(join(tmpdir(), 'tandem-reopen-kill-'));
  const coordinator = await startCoordinator({
    reducer: await readFile(TODO),
    dataDir: join(scratch, 'coordinator'),
    port: 0,
  });
  const url = `${coordinator.url.replace('http', 'ws')}/sync`;
  const dataDir = join(scratch, 'client');
  try {
    await fillThenDie(dataDir, 'd', url);
    const files = await FsByteStore.open(documentFolder(dataDir, 'd'));
    const { recovered } = await DocumentJournal.inspect(files);
    await files.close();
    expect(recovered.pending.length, 'confirmed mutations left in the timeline').toBe(0);

    const doc = await openDocument({ docId: 'd', reducer: TODO, dataDir, coordinatorUrl: url });
    try {
      expect(doc.replayed).toBe(0);
      expect(await doc.query('SELECT count(*) AS n FROM todos')).toEqual([{ n: COUNT }]);
      const next = await doc.mutate({ type: 'create', id: 'after', title: 'after the kill' });
      expect(next).toEqual({ lsn: COUNT, status: 'applied' });
      await doc.synced();
      expect(await doc.fate(COUNT)).toEqual({ lsn: COUNT, status: 'confirmed' });
      expect(await doc.pageHash()).toBe(await coordinator.pageHash('d'));
    } finally {
      await doc.close();
    }
  } finally {
    await coordinator.close();
    await rm(scratch, { recursive: true, force: true });
  }
}, 60_000);
