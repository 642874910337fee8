import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { documentFolder, openDocument } from '@tandem/host-node';
import { expect, test } from 'vitest';
import { recoverDocument, recoverMain } from './recover.js';
import { startCoordinator } from './server.js';
import { TestSyncClient } from './testing/sync-client.js';

const reducerPath = new URL('../../reducers/todo/dist/reducer.wasm', import.meta.url);
const reducer = new Uint8Array(await readFile(reducerPath));
const TODOS = 12;

interface Served {
  readonly dataDir: string;
  readonly clientDir: string;
  readonly journalId: string;
  readonly head: number;
  readonly hash: string;
}

/** A coordinator that acknowledged TODOS todos of a host-node client (which synced them), both closed. */
async function served(docId: string): Promise<Served> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tandem-recover-'));
  const clientDir = await mkdtemp(join(tmpdir(), 'tandem-recover-client-'));
  const coordinator = await startCoordinator({ reducer, port: 0, workers: 1, dataDir });
  try {
    const client = await openDocument({
      docId,
      reducer: reducerPath,
      dataDir: clientDir,
      coordinatorUrl: `${coordinator.url.replace(/^http/, 'ws')}/sync`,
    });
    for (let i = 0; i < TODOS; i++) {
      await client.mutate({ type: 'create', id: `t${i}`, title: `todo ${i}` });
      // One frame per todo: a cut frame log then loses some of them, not all.
      await client.synced();
    }
    await client.close();
    const probe = await TestSyncClient.connect(coordinator.url, { docId, timelineId: 'probe' });
    const welcome = await probe.next('welcome');
    await probe.close();
    return {
      dataDir,
      clientDir,
      journalId: welcome.journalId,
      head: welcome.head,
      hash: await coordinator.pageHash(docId),
    };
  } finally {
    await coordinator.close();
  }
}

/** Cuts the document's frame log in half: the second half of what it acknowledged is gone. */
async function cutFrameLog(dataDir: string, docId: string): Promise<void> {
  const folder = documentFolder(dataDir, docId);
  const segment = (await readdir(folder)).find((name) => name.startsWith('frames.'))!;
  const bytes = await readFile(join(folder, segment));
  await writeFile(join(folder, segment), bytes.subarray(0, Math.floor(bytes.length / 2)));
}

async function filesOf(folder: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const name of await readdir(folder))
    files.set(name, (await readFile(join(folder, name))).toString('hex'));
  return files;
}

test('recover changes nothing without --accept-loss and says what is unreadable and what each option keeps', async () => {
  const doc = await served('refused');
  try {
    await cutFrameLog(doc.dataDir, 'refused');
    const before = await filesOf(documentFolder(doc.dataDir, 'refused'));
    const report = await recoverDocument({ dataDir: doc.dataDir, docId: 'refused', acceptLoss: false });
    expect(report.status).toBe('refused');
    expect(report.framesExpected).toBe(doc.head);
    expect(report.framesReadable).toBeLessThan(doc.head);
    expect(report.message).toMatch(/frames\.\d+\.\d+\.log/);
    expect(report.message).toContain('--accept-loss would keep');
    expect(await filesOf(documentFolder(doc.dataDir, 'refused'))).toEqual(before);
    expect(await recoverMain(['--data', doc.dataDir, 'recover', 'refused'])).toBe(1);
  } finally {
    await rm(doc.dataDir, { recursive: true, force: true });
    await rm(doc.clientDir, { recursive: true, force: true });
  }
}, 60_000);

test('recover --accept-loss keeps the readable frames under a new history, which the coordinator serves and clients take as a snapshot', async () => {
  const doc = await served('lossy');
  try {
    await cutFrameLog(doc.dataDir, 'lossy');
    const report = await recoverDocument({ dataDir: doc.dataDir, docId: 'lossy', acceptLoss: true });
    expect(report).toMatchObject({ status: 'recovered', source: 'coordinator', framesExpected: doc.head });
    expect(report.framesKept).toBe(report.framesReadable);
    expect(report.journalId).not.toBe(doc.journalId);
    expect(await readdir(report.damagedFolder!)).not.toEqual([]);

    const coordinator = await startCoordinator({ reducer, port: 0, workers: 1, dataDir: doc.dataDir });
    try {
      const old = await TestSyncClient.connect(coordinator.url, {
        docId: 'lossy',
        timelineId: 'old',
        journalId: doc.journalId,
        cursor: doc.head,
      });
      const welcome = await old.next('welcome');
      expect(welcome).toMatchObject({ journalId: report.journalId, head: report.framesKept });
      await old.next('snapshot');
      await old.reach(welcome.head);
      expect(old.cursor).toBe(welcome.head);
      expect(await old.hash()).toBe(await coordinator.pageHash('lossy'));
      await old.close();
    } finally {
      await coordinator.close();
    }
  } finally {
    await rm(doc.dataDir, { recursive: true, force: true });
    await rm(doc.clientDir, { recursive: true, force: true });
  }
}, 60_000);

test("recover --from-client adopts a synced client's pages: nothing acknowledged is lost and the history is kept", async () => {
  const doc = await served('adopted');
  try {
    await cutFrameLog(doc.dataDir, 'adopted');
    const report = await recoverDocument({
      dataDir: doc.dataDir,
      docId: 'adopted',
      acceptLoss: false,
      fromClient: documentFolder(doc.clientDir, 'adopted'),
    });
    expect(report).toMatchObject({
      status: 'recovered',
      source: 'client',
      framesKept: doc.head,
      journalId: doc.journalId,
    });
    const coordinator = await startCoordinator({ reducer, port: 0, workers: 1, dataDir: doc.dataDir });
    try {
      expect(await coordinator.pageHash('adopted')).toBe(doc.hash);
      const back = await TestSyncClient.connect(coordinator.url, { docId: 'adopted', timelineId: 'back' });
      expect(await back.next('welcome')).toMatchObject({ journalId: doc.journalId, head: doc.head });
      await back.close();
    } finally {
      await coordinator.close();
    }
  } finally {
    await rm(doc.dataDir, { recursive: true, force: true });
    await rm(doc.clientDir, { recursive: true, force: true });
  }
}, 60_000);
