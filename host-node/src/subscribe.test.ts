import type { Row } from '@tandem/runtime';
import { expect, test } from 'vitest';
import { openDocument } from './document.js';
import { TODO_REDUCER } from './testing/paths.js';

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

test('a subscription hears the rows at once, then after each change of them, and not after other changes', async () => {
  const doc = await openDocument({ docId: 'subscribe', reducer: TODO_REDUCER });
  const heard: Row[][] = [];
  const stop = doc.subscribe('SELECT id, completed FROM todos WHERE completed = ? ORDER BY id', [1], (rows) =>
    heard.push(rows),
  );
  await settle();
  expect(heard).toEqual([[]]);
  await doc.mutate({ type: 'create', id: 'a', title: 'milk' });
  await settle();
  expect(heard).toHaveLength(1);
  await doc.mutate({ type: 'toggle', id: 'a' });
  await settle();
  expect(heard.at(-1)).toEqual([{ id: 'a', completed: 1 }]);
  await doc.mutate({ type: 'rename', id: 'a', title: 'oat milk' });
  await settle();
  expect(heard).toHaveLength(2);
  stop();
  await doc.mutate({ type: 'toggle', id: 'a' });
  await settle();
  expect(heard).toHaveLength(2);
  await doc.close();
});

test('mutations made together notify a subscription once', async () => {
  const doc = await openDocument({ docId: 'subscribe-batch', reducer: TODO_REDUCER });
  const counts: number[] = [];
  doc.subscribe('SELECT count(*) AS n FROM todos', [], (rows) => counts.push(Number(rows[0]?.n)));
  await settle();
  await Promise.all([1, 2, 3].map((i) => doc.mutate({ type: 'create', id: `t${i}`, title: `todo ${i}` })));
  await settle();
  expect(counts).toEqual([0, 3]);
  await doc.close();
});

test('a failing query reaches onError and the subscription stays', async () => {
  const doc = await openDocument({ docId: 'subscribe-error', reducer: TODO_REDUCER });
  const errors: unknown[] = [];
  doc.subscribe(
    'SELECT * FROM nothing_here',
    [],
    () => undefined,
    (error) => errors.push(error),
  );
  await settle();
  expect(String(errors[0])).toMatch(/no such table/);
  await doc.close();
});

test('a rebase that fails part-way keeps the unconfirmed writes visible', async () => {
  const doc = await openDocument({ docId: 'rebase-fails', reducer: TODO_REDUCER });
  await doc.mutate({ type: 'create', id: 'mine', title: 'not yet confirmed' });
  const page = new Uint8Array(4096);
  expect(() =>
    doc.rebase({ journalId: 'j', frames: [{ lsn: 5, pageCount: 1, pages: [{ pgno: 1, data: page }] }] }),
  ).toThrow(/5/);
  expect(await doc.query('SELECT id FROM todos')).toEqual([{ id: 'mine' }]);
  expect(doc.pendingCount).toBe(1);
  await doc.close();
});
