import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MutationResult } from '@tandem/runtime';
import { TandemError } from '@tandem/runtime';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { openDocument } from './document.js';
import { TODO_REDUCER } from './testing/paths.js';
import { TodoModel, type TodoMutation, todoMutation } from './testing/todo-model.js';

const SEED = Number(process.env.FC_SEED ?? 20261122);
const T0 = 1_700_000_000_000;

describe('the todo reducer in a local document', () => {
  test('a created todo reads back with created_at taken from the envelope', async () => {
    const doc = await openDocument({ docId: 'basic', reducer: TODO_REDUCER });
    expect(doc.migration).toEqual({ fromVersion: 0, toVersion: 2, migrated: true });
    const result = await doc.mutate({ type: 'create', id: 'a', title: 'milk' }, { timestamp: T0 });
    expect(result).toEqual({ lsn: 0, status: 'applied' });
    await doc.mutate({ type: 'toggle', id: 'a' }, { timestamp: T0 + 5 });
    expect(await doc.query('SELECT * FROM todos WHERE completed = ?', [1])).toEqual([
      { id: 'a', title: 'milk', completed: 1, created_at: T0, priority: 0 },
    ]);
    await doc.close();
  });

  test('each kind of invalid mutation is rejected with a reason, and changes nothing', async () => {
    const doc = await openDocument({ docId: 'invalid', reducer: TODO_REDUCER });
    await doc.mutate({ type: 'create', id: 'a', title: 'milk' });
    const before = await doc.pageHash();
    const invalid: unknown[] = [
      { type: 'create', id: 'b', title: '' },
      { type: 'create', id: 'c', title: 'x'.repeat(201) },
      { type: 'create', id: 'a', title: 'duplicate id' },
      { type: 'rename', id: 'ghost', title: 'nobody' },
      { type: 'rename', id: 'a', title: '' },
      { type: 'toggle', id: 'ghost' },
      { type: 'delete', id: 'ghost' },
      { type: 'launch', id: 'a' },
      { type: 'create', id: 7, title: 'id is not a string' },
      { id: 'a' },
      [1, 2, 3],
      new TextEncoder().encode('{"type":"create","id":"d",'),
      new Uint8Array([0xff, 0xfe, 0x00]),
    ];
    const results = await doc.mutateBatch(invalid);
    for (const [i, r] of results.entries()) {
      expect(r.status, `mutation ${i}: ${JSON.stringify(invalid[i])}`).toBe('rejected');
      if (r.status === 'rejected') expect(r.reason.length).toBeGreaterThan(3);
    }
    expect(await doc.pageHash()).toBe(before);
    await doc.close();
  });

  test('a title of exactly 200 characters is accepted, 201 is not', async () => {
    const doc = await openDocument({ docId: 'limits', reducer: TODO_REDUCER });
    const [ok, tooLong] = await doc.mutateBatch([
      { type: 'create', id: 'a', title: 'é'.repeat(200) },
      { type: 'create', id: 'b', title: 'é'.repeat(201) },
    ]);
    expect(ok?.status).toBe('applied');
    expect(tooLong?.status).toBe('rejected');
    await doc.close();
  });

  test('10,000 mutations in batches with invalid ones mixed in: each valid one applied, each invalid one rejected, no partial writes', async () => {
    const doc = await openDocument({ docId: 'ten-thousand', reducer: TODO_REDUCER, timelineId: 'tl' });
    const model = new TodoModel();
    const mutations = fc.sample(todoMutation(400), { seed: SEED, numRuns: 10_000 });
    let applied = 0;
    let rejected = 0;
    for (let start = 0; start < mutations.length; start += 250) {
      const batch = mutations.slice(start, start + 250);
      const timestamp = T0 + start;
      const results = await doc.mutateBatch(batch, { timestamp });
      results.forEach((result, i) => {
        const expected = model.apply(batch[i] as TodoMutation, timestamp);
        expect(result.status, `seed ${SEED}, mutation ${start + i}: ${JSON.stringify(batch[i])}`).toBe(
          expected ? 'applied' : 'rejected',
        );
        if (expected) applied++;
        else rejected++;
      });
    }
    expect(applied).toBeGreaterThan(3000);
    expect(rejected).toBeGreaterThan(1000);
    expect(
      await doc.query('SELECT id, title, completed, created_at, priority FROM todos ORDER BY id'),
    ).toEqual(model.sorted());
    expect(await doc.query('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
    await doc.close();
  });
});

describe('batching', () => {
  test('mutate calls made without awaiting each other are reduced in one batch (one frame)', async () => {
    let frames = 0;
    const doc = await openDocument({ docId: 'coalesce', reducer: TODO_REDUCER, onFrame: () => frames++ });
    const afterMigration = frames;
    const results = await Promise.all(
      ['a', 'b', 'c', 'd', 'e'].map((id) => doc.mutate({ type: 'create', id, title: id })),
    );
    expect(results.map((r) => r.lsn)).toEqual([0, 1, 2, 3, 4]);
    expect(frames - afterMigration).toBe(1);
    await doc.close();
  });

  test('a batch whose mutations are all rejected produces no frame', async () => {
    let frames = 0;
    const doc = await openDocument({ docId: 'all-rejected', reducer: TODO_REDUCER, onFrame: () => frames++ });
    const afterMigration = frames;
    const results: MutationResult[] = await doc.mutateBatch([{ type: 'toggle', id: 'x' }, { type: 'nope' }]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(frames).toBe(afterMigration);
    await doc.close();
  });
});

describe('opening and closing', () => {
  test('a reducer file that is not WebAssembly is refused with a clear error', async () => {
    const open = openDocument({ docId: 'bad', reducer: new TextEncoder().encode('definitely not wasm') });
    await expect(open).rejects.toBeInstanceOf(TandemError);
    await expect(open).rejects.toMatchObject({ kind: 'invalid-reducer' });
  });

  test('a core module that was not built into a component is refused, saying so', async () => {
    const component = await readFile(TODO_REDUCER);
    const coreModule = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
    expect(component.subarray(0, 4)).toEqual(Buffer.from(coreModule.subarray(0, 4)));
    await expect(openDocument({ docId: 'core', reducer: coreModule })).rejects.toMatchObject({
      kind: 'invalid-reducer',
      message: expect.stringMatching(/component/),
    });
  });

  test('a missing reducer file is refused, naming the path', async () => {
    await expect(openDocument({ docId: 'missing', reducer: '/nowhere/reducer.wasm' })).rejects.toMatchObject({
      kind: 'invalid-reducer',
      message: expect.stringContaining('/nowhere/reducer.wasm'),
    });
  });

  test('a refused reducer leaves its folder unlocked (the lock is taken while the reducer loads): the next open takes it', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tandem-refused-'));
    try {
      await expect(
        openDocument({ docId: 'refused', reducer: '/nowhere/reducer.wasm', dataDir }),
      ).rejects.toMatchObject({ kind: 'invalid-reducer' });
      const doc = await openDocument({ docId: 'refused', reducer: TODO_REDUCER, dataDir });
      expect(await doc.query('SELECT count(*) AS n FROM todos')).toEqual([{ n: 0 }]);
      await doc.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test('after close, every call rejects with a closed error', async () => {
    const doc = await openDocument({ docId: 'closing', reducer: TODO_REDUCER });
    const pending = doc.mutate({ type: 'create', id: 'a', title: 'applied before close' });
    await doc.close();
    expect(await pending).toMatchObject({ status: 'applied' });
    await expect(doc.mutate({ type: 'create', id: 'b', title: 'late' })).rejects.toMatchObject({
      kind: 'closed',
    });
    await expect(doc.query('SELECT 1')).rejects.toMatchObject({ kind: 'closed' });
  });
});
