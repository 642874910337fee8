import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type MutationEnvelope, TandemError } from '@tandem/runtime';
import { expect, test } from 'vitest';
import { DocumentPool } from './document-pool.js';

const reducer = await readFile(new URL('../../reducers/todo/dist/reducer.wasm', import.meta.url));

function create(lsn: number, id: string): MutationEnvelope {
  const payload = new TextEncoder().encode(JSON.stringify({ type: 'create', id, title: id }));
  return { timelineId: 't', lsn, timestamp: 1_700_000_000_000, payload };
}

test('documents are spread over the workers, and a document stays on its worker', async () => {
  const pool = new DocumentPool({ reducer, workers: 2 });
  try {
    const placed = ['a', 'b', 'c', 'd'].map((docId) => pool.workerOf(docId));
    expect(placed.sort()).toEqual([0, 0, 1, 1]);
    expect(pool.workerOf('a')).toBe(pool.workerOf('a'));
  } finally {
    await pool.close();
  }
});

test('a document persisted by one pool is there, whole, for the next pool over the same folder', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'tandem-pool-'));
  try {
    const first = new DocumentPool({ reducer, dataDir, workers: 2 });
    for (let lsn = 0; lsn < 5; lsn++)
      await first.push('doc/1', [{ timelineId: 't', mutations: [create(lsn, `x${lsn}`)] }]);
    const hash = await first.pageHash('doc/1');
    await first.close();

    const second = new DocumentPool({ reducer, dataDir, workers: 1 });
    expect(await second.pageHash('doc/1')).toBe(hash);
    const report = await second.push('doc/1', [
      { timelineId: 't', mutations: [create(4, 'x4'), create(5, 'x5')] },
    ]);
    expect(report.results[0]).toMatchObject({
      status: 'accepted',
      appliedLsn: 5,
      outcomes: [{ lsn: 5, ok: true }],
    });
    expect(await second.query('doc/1', 'SELECT count(*) AS n FROM todos')).toEqual([{ n: 6 }]);
    await second.close();
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('a call that fails in a worker rejects with its error, a bad document id is invalid-argument, and a closed pool refuses calls', async () => {
  const pool = new DocumentPool({ reducer, workers: 1 });
  await expect(pool.push('', [])).rejects.toMatchObject({ kind: 'invalid-argument' });
  await pool.push('a', [{ timelineId: 't', mutations: [create(0, 'x')] }]);
  await expect(pool.query('a', 'SELECT * FROM no_such_table')).rejects.toThrow(/no such table/);
  await pool.close();
  const closed = await pool.pageHash('a').catch((error: unknown) => error);
  expect(closed).toBeInstanceOf(TandemError);
  expect((closed as TandemError).kind).toBe('closed');
});

test('a document closed as idle between calls reopens from disk for the next one: every call in a race with its closes sees the whole document', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'tandem-pool-'));
  const pool = new DocumentPool({ reducer, dataDir, workers: 2, idleDocumentMs: 0, maxOpenDocuments: 1 });
  try {
    // Two documents, one open at most, closing as soon as idle: nearly every call meets a close in progress.
    for (let lsn = 0; lsn < 20; lsn++) {
      const pushed = await Promise.all(
        ['x', 'y'].map((docId) =>
          pool.push(docId, [{ timelineId: 't', mutations: [create(lsn, `${docId}${lsn}`)] }]),
        ),
      );
      for (const report of pushed)
        expect(report.results[0]).toMatchObject({ status: 'accepted', appliedLsn: lsn });
      const [count] = await pool.query('x', 'SELECT count(*) AS n FROM todos');
      expect(count).toEqual({ n: lsn + 1 });
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(pool.openDocuments).toBe(0);
  } finally {
    await pool.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}, 120_000);

test('a lease release that fails when a document closes is reported, not swallowed, and the document reopens', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'tandem-pool-'));
  const failures: [string, unknown][] = [];
  let claims = 0;
  const pool = new DocumentPool({
    reducer,
    dataDir,
    workers: 1,
    claim: async () => {
      claims++;
    },
    unclaim: async () => {
      throw new Error('connection terminated');
    },
    onUnclaimFailed: (docId, error) => failures.push([docId, error]),
  });
  try {
    await pool.push('doc', [{ timelineId: 't', mutations: [create(0, 'x0')] }]);
    await pool.release('doc');
    expect(failures).toEqual([['doc', expect.objectContaining({ message: 'connection terminated' })]]);
    const report = await pool.push('doc', [{ timelineId: 't', mutations: [create(1, 'x1')] }]);
    expect(report.results[0]).toMatchObject({ appliedLsn: 1 });
    expect(claims).toBe(2);
  } finally {
    await pool.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
