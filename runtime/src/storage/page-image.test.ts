import { expect, test } from 'vitest';
import { concatBytes } from '../bytes.js';
import { PAGE_SIZE, PageStore } from '../vfs/page-store.js';
import { decodePageImage, encodePageImage, PageImageError } from './page-image.js';
import { decodeRecords, encodeRecord, RecordType } from './record.js';

const page = (fill: number) => new Uint8Array(PAGE_SIZE).fill(fill);
/** Pages 2 and 5 of a 6-page file: holes before, between and after them. */
const sparse = {
  pageCount: 6,
  pages: () => [
    { pgno: 2, data: page(2) },
    { pgno: 5, data: page(5) },
  ],
};

test('an image with holes decodes to its pages, its hash the file with zeros in the holes', async () => {
  for (const encoding of ['raw', 'deflate'] as const) {
    const image = await decodePageImage(concatBytes(await encodePageImage(sparse, 3, encoding)));
    const store = new PageStore();
    store.applyFrame({ pageCount: 6, pages: sparse.pages() });
    expect(image.pages.map((p) => p.pgno)).toEqual([2, 5]);
    expect(image.hash).toBe(await store.hash('base'));
  }
});

test('an image whose pages do not hash to its end record is refused, its records whole', async () => {
  const { records } = decodeRecords(concatBytes(await encodePageImage(sparse, 3, 'raw')));
  const end = records.at(-1)!.payload.slice();
  end[8] = end[8]! ^ 1;
  const forged = [
    ...records.slice(0, -1).map((r) => encodeRecord(r.type, r.payload)),
    encodeRecord(RecordType.imageEnd, end),
  ];
  await expect(decodePageImage(concatBytes(forged))).rejects.toThrow(PageImageError);
  await expect(decodePageImage(concatBytes(forged))).rejects.toThrow('do not match its hash');
});
