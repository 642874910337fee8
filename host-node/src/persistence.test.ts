import { FaultyByteStore, MemoryByteStore, type MutationResult, TandemError } from '@tandem/runtime';
import { describe, expect, test } from 'vitest';
import { openDocument } from './document.js';
import { TODO_REDUCER } from './testing/paths.js';

const T0 = 1_700_000_000_000;
let docs = 0;

describe('a document over a byte store', () => {
  test('reopening restores the state and the pending mutations, and the timeline goes on where it stopped', async () => {
    const storage = new MemoryByteStore();
    const first = await openDocument({ docId: `persist-${++docs}`, reducer: TODO_REDUCER, storage });
    const results = await first.mutateBatch(
      [
        { type: 'create', id: 'a', title: 'milk' },
        { type: 'create', id: 'b', title: '' },
        { type: 'create', id: 'c', title: 'bread' },
        { type: 'toggle', id: 'a' },
      ],
      { timestamp: T0 },
    );
    expect(results.map((r) => r.status)).toEqual(['applied', 'rejected', 'applied', 'applied']);
    const hash = await first.pageHash();
    const rows = await first.query('SELECT * FROM todos ORDER BY id');
    await first.close();

    const second = await openDocument({ docId: `persist-${++docs}`, reducer: TODO_REDUCER, storage });
    expect(second.timelineId).toBe(first.timelineId);
    expect(second.replayed).toBe(4);
    expect(await second.pageHash()).toBe(hash);
    expect(await second.query('SELECT * FROM todos ORDER BY id')).toEqual(rows);
    expect(await second.mutate({ type: 'delete', id: 'c' }, { timestamp: T0 + 1 })).toEqual({
      lsn: 4,
      status: 'applied',
    });
    await second.close();
  });

  test('every mutation whose mutate resolved survives a power loss at that moment', async () => {
    const storage = new MemoryByteStore();
    const doc = await openDocument({ docId: `power-${++docs}`, reducer: TODO_REDUCER, storage });
    const resolved: MutationResult[] = [];
    const crashes: { image: MemoryByteStore; resolved: number }[] = [];
    const all: Promise<void>[] = [];
    for (let i = 0; i < 60; i++) {
      all.push(
        doc.mutate({ type: 'create', id: `t${i}`, title: `todo ${i}` }, { timestamp: T0 + i }).then((r) => {
          resolved.push(r);
          if (i % 7 === 0)
            crashes.push({ image: storage.crashImage({ keepUnsynced: false }), resolved: resolved.length });
        }),
      );
      if (i % 5 === 4) await new Promise((r) => setTimeout(r, 0));
    }
    await Promise.all(all);
    await doc.close();
    expect(crashes.length).toBeGreaterThan(3);
    for (const crash of crashes) {
      const reopened = await openDocument({
        docId: `power-${++docs}`,
        reducer: TODO_REDUCER,
        storage: crash.image,
      });
      const ids = (await reopened.query('SELECT id FROM todos')).map((row) => row.id);
      for (const r of resolved.slice(0, crash.resolved)) expect(ids).toContain(`t${r.lsn}`);
      expect(await reopened.query('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
      await reopened.close();
    }
  });

  test('a failed sync rejects its mutations with storage-failed, and the document accepts nothing more', async () => {
    // Syncs: the identity, the timeline secret, the schema mark, mutation a, then mutation b fails.
    const storage = new FaultyByteStore({ mode: 'fail', at: 'sync', k: 5 });
    const doc = await openDocument({ docId: `failing-${++docs}`, reducer: TODO_REDUCER, storage });
    expect((await doc.mutate({ type: 'create', id: 'a', title: 'one' })).status).toBe('applied');
    const failed = await doc.mutate({ type: 'create', id: 'b', title: 'two' }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(TandemError);
    expect((failed as TandemError).kind).toBe('storage-failed');
    await expect(doc.mutate({ type: 'create', id: 'c', title: 'three' })).rejects.toMatchObject({
      kind: 'storage-failed',
    });
    await doc.close();
  });
});
