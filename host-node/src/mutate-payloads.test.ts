import { expect, test } from 'vitest';
import { openDocument } from './document.js';
import { TODO_REDUCER } from './testing/paths.js';

test('each mutation of a batch keeps its own payload, JSON or bytes, whatever the caller does with its bytes afterwards', async () => {
  const doc = await openDocument({ docId: 'mutate-payloads', reducer: TODO_REDUCER });
  const duplicate = new TextEncoder().encode(JSON.stringify({ type: 'create', id: 'a', title: 'again' }));
  // The third is larger than the writer's first buffer (its unknown field is read by no one).
  const titles = ['milk', 'ünïcödé ✓ 𝄞 日本語', 'big', 'é'];
  const results = await doc.mutateBatch([
    { type: 'create', id: 'a', title: titles[0] },
    duplicate,
    { type: 'create', id: 'b', title: titles[1] },
    { type: 'create', id: 'c', title: titles[2], pad: 'x'.repeat(70_000) },
    { type: 'create', id: 'd', title: titles[3] },
  ]);
  duplicate.fill(0x20);
  expect(results.map((r) => r.status)).toEqual(['applied', 'rejected', 'applied', 'applied', 'applied']);
  expect(await doc.query('SELECT title FROM todos ORDER BY id')).toEqual(titles.map((title) => ({ title })));
  const [rejected] = await doc.rejections();
  expect(rejected?.mutation).toEqual({ type: 'create', id: 'a', title: 'again' });
  await doc.mutate({ type: 'create', id: 'e', title: 'after' });
  expect(rejected?.mutation).toEqual({ type: 'create', id: 'a', title: 'again' });
  await doc.close();
});
