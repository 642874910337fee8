import { expect, test } from 'vitest';
import { PAGE_SIZE, PageStore, PageStoreError } from './page-store.js';

const page = (fill: number) => new Uint8Array(PAGE_SIZE).fill(fill);

test('writing a page beyond the end grows the file, and the hole between reads as zeros', () => {
  const store = new PageStore();
  store.write(3, page(7));
  expect(store.pageCount).toBe(3);
  expect(store.read(1)).toBeUndefined();
  const bytes = store.snapshotBytes();
  expect(bytes.length).toBe(3 * PAGE_SIZE);
  expect(bytes.subarray(0, 2 * PAGE_SIZE).every((b) => b === 0)).toBe(true);
  expect(bytes.subarray(2 * PAGE_SIZE).every((b) => b === 7)).toBe(true);
});

test('a stored page is a copy: changing the written array later changes nothing', () => {
  const store = new PageStore();
  const bytes = page(1);
  store.write(1, bytes);
  bytes.fill(2);
  expect(store.read(1)?.[0]).toBe(1);
});

test('an adopted page is stored as given, an overlay write like any other, and a later write leaves it as it was', () => {
  const store = new PageStore();
  const pages = new Uint8Array(2 * PAGE_SIZE).fill(5);
  store.adopt(2, pages.subarray(PAGE_SIZE));
  store.adopt(1, pages.subarray(0, PAGE_SIZE));
  expect(store.pageCount).toBe(2);
  expect(store.dirtyPages()).toEqual([1, 2]);
  const held = store.read(2)!;
  expect(held.buffer).toBe(pages.buffer);
  store.write(2, page(6));
  expect(held.every((b) => b === 5)).toBe(true);
  expect(store.read(2)?.[0]).toBe(6);
  expect(() => store.adopt(3, pages)).toThrow(RangeError);
  store.discardOverlay();
  expect(store.pageCount).toBe(0);
});

test('only whole pages with valid numbers can be written', () => {
  const store = new PageStore();
  expect(() => store.write(1, new Uint8Array(100))).toThrow(RangeError);
  expect(() => store.write(0, page(0))).toThrow(RangeError);
  expect(() => store.write(1.5, page(0))).toThrow(RangeError);
});

test('the dirty set holds the pages written since it was cleared, in pgno order', () => {
  const store = new PageStore();
  store.write(5, page(1));
  store.write(2, page(1));
  store.write(5, page(2));
  expect(store.dirtyPages()).toEqual([2, 5]);
  store.clearDirty();
  expect(store.dirtyPages()).toEqual([]);
});

test('truncating drops the pages past the end, also from the dirty set', () => {
  const store = new PageStore();
  for (let pgno = 1; pgno <= 4; pgno++) store.write(pgno, page(pgno));
  store.truncate(2);
  expect(store.pageCount).toBe(2);
  expect(store.read(3)).toBeUndefined();
  expect(store.dirtyPages()).toEqual([1, 2]);
  expect([...store.pages()].map((p) => p.pgno)).toEqual([1, 2]);
});

test('applying a frame installs its pages and page count without marking them dirty', () => {
  const store = new PageStore();
  for (let pgno = 1; pgno <= 3; pgno++) store.write(pgno, page(pgno));
  store.clearDirty();
  store.foldOverlay();
  store.applyFrame({ pageCount: 2, pages: [{ pgno: 2, data: page(9) }] });
  expect(store.pageCount).toBe(2);
  expect(store.read(2)?.[0]).toBe(9);
  expect(store.read(3)).toBeUndefined();
  expect(store.dirtyPages()).toEqual([]);
});

test('a frame with a page past its own page count is refused before anything changes', () => {
  const store = new PageStore();
  store.write(1, page(1));
  expect(() => store.applyFrame({ pageCount: 1, pages: [{ pgno: 2, data: page(2) }] })).toThrow(RangeError);
  expect(store.pageCount).toBe(1);
});

test('pages iterate in pgno order whatever the order of writes', () => {
  const store = new PageStore();
  for (const pgno of [4, 1, 3]) store.write(pgno, page(pgno));
  expect([...store.pages()].map((p) => [p.pgno, p.data[0]])).toEqual([
    [1, 1],
    [3, 3],
    [4, 4],
  ]);
});

test('hash is the hex SHA-256 of the file bytes, holes included as zeros', async () => {
  const store = new PageStore();
  expect(await store.hash()).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  store.write(2, page(5));
  expect(await store.hash()).toBe('a3b8d4cb17036dce462a412a9c24e488ffba2cc4a7259ff6cf02bb6db1405cc0');
});

// ---- layers ----

/** A store whose base holds pages 1..n filled with their pgno, as an applied frame leaves it. */
function committed(n: number): PageStore {
  const store = new PageStore();
  store.applyFrame({
    pageCount: n,
    pages: Array.from({ length: n }, (_, i) => ({ pgno: i + 1, data: page(i + 1) })),
  });
  return store;
}

const firstBytes = (store: PageStore) =>
  Array.from({ length: store.pageCount }, (_, i) => store.read(i + 1)?.[0] ?? 0);

test('writes land in the overlay and hide the base; discarding the overlay shows the base again', async () => {
  const store = committed(2);
  const baseHash = await store.hash();
  store.write(2, page(20));
  store.write(4, page(40));
  expect(firstBytes(store)).toEqual([1, 20, 0, 40]);
  expect(store.basePageCount).toBe(2);
  expect(await store.hash('base')).toBe(baseHash);
  expect(await store.hash()).not.toBe(baseHash);
  store.discardOverlay();
  expect(store.hasOverlay).toBe(false);
  expect(store.dirtyPages()).toEqual([]);
  expect(firstBytes(store)).toEqual([1, 2]);
  expect(await store.hash()).toBe(baseHash);
});

test('a page the overlay truncated away reads as a hole when the file grows again, not as the base page', () => {
  const store = committed(4);
  store.truncate(1);
  store.write(3, page(30));
  expect(firstBytes(store)).toEqual([1, 0, 30]);
  expect([...store.pages()].map((p) => p.pgno)).toEqual([1, 3]);
  expect(
    store
      .snapshotBytes()
      .subarray(PAGE_SIZE, 2 * PAGE_SIZE)
      .every((b) => b === 0),
  ).toBe(true);
  store.discardOverlay();
  expect(firstBytes(store)).toEqual([1, 2, 3, 4]);
});

test('folding makes the overlay the base without changing the visible file', () => {
  const store = committed(4);
  store.truncate(1);
  store.write(3, page(30));
  const visible = store.snapshotBytes();
  const generation = store.generation;
  store.foldOverlay();
  expect(store.hasOverlay).toBe(false);
  expect(store.generation).toBe(generation);
  expect(store.snapshotBytes('base')).toEqual(visible);
  store.discardOverlay();
  expect(firstBytes(store)).toEqual([1, 0, 30]);
});

test('the generation moves exactly when the visible file changes beneath its user', () => {
  const store = committed(1);
  const start = store.generation;
  store.write(1, page(9));
  store.truncate(1);
  expect(store.generation).toBe(start);
  store.discardOverlay();
  expect(store.generation).toBe(start + 1);
  store.discardOverlay();
  expect(store.generation).toBe(start + 1);
  store.applyFrame({ pageCount: 1, pages: [] });
  expect(store.generation).toBe(start + 2);
});

test('a frame is refused beneath a non-empty overlay, even one that only changed the size', () => {
  const store = committed(2);
  store.truncate(1);
  expect(() => store.applyFrame({ pageCount: 3, pages: [] })).toThrow(
    expect.objectContaining({ kind: 'overlay-not-empty' }),
  );
  expect(store.basePageCount).toBe(2);
  store.discardOverlay();
  store.applyFrame({ pageCount: 3, pages: [{ pgno: 3, data: page(3) }] });
  expect(firstBytes(store)).toEqual([1, 2, 3]);
});

test('while the file is locked its pages cannot change beneath the lock holder', () => {
  const store = committed(1);
  store.write(1, page(7));
  store.lock();
  for (const change of [() => store.discardOverlay(), () => store.applyFrame({ pageCount: 1, pages: [] })]) {
    expect(change).toThrow(PageStoreError);
    expect(change).toThrow(expect.objectContaining({ kind: 'in-transaction' }));
  }
  expect(store.read(1)?.[0]).toBe(7);
  store.unlock();
  store.discardOverlay();
  expect(store.read(1)?.[0]).toBe(1);
});

test('a frame shrinking the base drops the pages past its page count', () => {
  const store = committed(3);
  store.applyFrame({ pageCount: 1, pages: [] });
  store.applyFrame({ pageCount: 3, pages: [] });
  expect(firstBytes(store)).toEqual([1, 0, 0]);
});

function outOfOrder(fn: () => void): PageStoreError {
  try {
    fn();
  } catch (error) {
    if (error instanceof PageStoreError) return error;
    throw error;
  }
  throw new Error('expected a PageStoreError');
}

test('frames are taken in lsn order: a gap or a duplicate is refused with the lsn expected, and the base stays as it was', () => {
  const store = new PageStore();
  const frame = (lsn: number) => ({ lsn, pageCount: 1, pages: [{ pgno: 1, data: page(lsn + 1) }] });
  store.applyFrame(frame(0));
  store.applyFrame(frame(1));
  const gap = outOfOrder(() => store.applyFrame(frame(3)));
  expect(gap).toMatchObject({ kind: 'frame-out-of-order', expectedLsn: 2, lsn: 3 });
  const duplicate = outOfOrder(() => store.applyFrame(frame(1)));
  expect(duplicate).toMatchObject({ kind: 'frame-out-of-order', expectedLsn: 2, lsn: 1 });
  expect(store.read(1)?.[0]).toBe(2);
  store.applyFrame(frame(2));
  expect(store.nextFrameLsn).toBe(3);
});

test('a store starts at the frame it is told, an image or a reset base moves it, and folding a committed frame advances it', () => {
  const frame = (lsn: number) => ({ lsn, pageCount: 1, pages: [{ pgno: 1, data: page(9) }] });
  const resumed = new PageStore({ nextFrameLsn: 7 });
  expect(outOfOrder(() => resumed.applyFrame(frame(0))).expectedLsn).toBe(7);
  resumed.applyFrame(frame(7));

  const store = new PageStore();
  store.resetBase({ frameCount: 40, pageCount: 2, pages: [{ pgno: 2, data: page(4) }] });
  expect(store.read(1)).toBeUndefined();
  expect(store.nextFrameLsn).toBe(40);
  expect(outOfOrder(() => store.applyFrame(frame(39))).expectedLsn).toBe(40);
  store.applyFrame({ pageCount: 2, pages: [], frameCount: 45 });
  expect(store.nextFrameLsn).toBe(45);

  store.write(1, page(5));
  store.foldOverlay(45);
  expect(store.nextFrameLsn).toBe(46);
});

test('pages from elsewhere, without an lsn, leave the history unknown: the next frame is taken whatever its lsn', () => {
  const store = new PageStore();
  store.applyFrame({ pageCount: 0, pages: [] });
  expect(store.nextFrameLsn).toBeUndefined();
  store.applyFrame({ lsn: 12, pageCount: 1, pages: [{ pgno: 1, data: page(1) }] });
  expect(store.nextFrameLsn).toBe(13);
});
