// DESIGN.md §4 and §9: a document whose reducer burns its whole budget must not stall the others on the
// same coordinator. Documents live in worker threads (coordinator/src/document-pool.ts); this checks
// that a second document keeps answering while the first is rejecting runaway mutations.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DocumentPool } from '@tandem/coordinator';
import type { MutationEnvelope } from '@tandem/runtime';
import { expect, test } from 'vitest';
import { REPO_ROOT } from './support/vite-server.js';

const REDUCER = join(REPO_ROOT, 'e2e/fixtures/limits-reducer/dist/reducer.wasm');

function op(timelineId: string, lsn: number, body: object): MutationEnvelope {
  return {
    timelineId,
    lsn,
    timestamp: 1_700_000_000_000,
    payload: new TextEncoder().encode(JSON.stringify(body)),
  };
}

test('while one document burns its whole fuel budget, another on the same coordinator keeps answering', async () => {
  const pool = new DocumentPool({ reducer: await readFile(REDUCER), workers: 2 });
  try {
    await pool.push('busy', [{ timelineId: 'b', mutations: [op('b', 0, { op: 'write' })] }]);
    await pool.push('calm', [{ timelineId: 'c', mutations: [op('c', 0, { op: 'write' })] }]);
    expect(pool.workerOf('busy')).not.toBe(pool.workerOf('calm'));

    const spins = Array.from({ length: 12 }, (_, i) => op('b', i + 1, { op: 'spin' }));
    let burnt = false;
    const burning = pool.push('busy', [
      { timelineId: 'b', mutations: [...spins, op('b', 13, { op: 'write' })] },
    ]);
    void burning.then(() => {
      burnt = true;
    });

    const answeredWhileBurning: number[] = [];
    for (let lsn = 1; lsn <= 20 && !burnt; lsn++) {
      const report = await pool.push('calm', [
        { timelineId: 'c', mutations: [op('c', lsn, { op: 'write' })] },
      ]);
      expect(report.results[0]).toMatchObject({ status: 'accepted', appliedLsn: lsn });
      if (!burnt) answeredWhileBurning.push(lsn);
    }
    expect(answeredWhileBurning.length).toBe(20);

    const report = await burning;
    const result = report.results[0];
    expect(result?.status).toBe('accepted');
    if (result?.status !== 'accepted') return;
    expect(result.outcomes.slice(0, 12).every((o) => !o.ok && o.reason === 'fuel exhausted')).toBe(true);
    expect(result.outcomes[12]).toEqual({ lsn: 13, ok: true });
  } finally {
    await pool.close();
  }
}, 60_000);
