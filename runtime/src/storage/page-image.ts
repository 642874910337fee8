// A page image: a whole database at one point of its frame log, as a sequence of records. The same
// format is the checkpoint's page file (pages raw, fast to write and read) and a snapshot (pages
// deflated, to store and to send to a client that is behind).
//
//   imageHeader: u8 version | u8 encoding | u64 frame count (lsn + 1 of the last frame folded in) | u32 page count
//   imagePages*: raw:     n × (u32 pgno | page)
//                deflate: u32 n | deflate-raw(n × (u32 pgno | page))
//   imageEnd:    u32 page count | u32 pages stored | 32-byte SHA-256 of the database file (the pageHash)
//
// Invariants:
// 1. An image counts only with its end record, and only if its pages reproduce the hash there: a torn
//    or incomplete image is never loaded, and a writer needs no rename to publish one atomically.
// 2. Pages appear in pgno order, each at most once, none beyond the page count.

import { toHex } from '../bytes.js';
import { InflateError, rawDeflate } from '../deflate.js';
import type { FramePage } from '../frame.js';
import { sha256Hex } from '../sha256.js';
import { PAGE_SIZE } from '../vfs/page-store.js';
import { decodeRecords, encodeRecord, RecordType } from './record.js';

const IMAGE_VERSION = 1;
const PAGES_PER_RECORD = 64;

export type ImageEncoding = 'raw' | 'deflate';
const ENCODINGS: readonly ImageEncoding[] = ['raw', 'deflate'];

/** What an image is made from: a database's pages in pgno order. */
export interface PageSource {
  readonly pageCount: number;
  pages(): Iterable<FramePage>;
}

export interface PageImage {
  /** The number of frames folded into it: the next frame to apply has this lsn. */
  readonly frameCount: number;
  readonly pageCount: number;
  readonly pages: FramePage[];
  /** Hex SHA-256 of the database file (what `pageHash()` reports). */
  readonly hash: string;
}

export class PageImageError extends Error {
  override readonly name = 'PageImageError';
}

/** Encodes `source` as the records of an image; the caller appends them in order. */
export async function encodePageImage(
  source: PageSource,
  frameCount: number,
  encoding: ImageEncoding,
): Promise<Uint8Array[]> {
  const { pageCount } = source;
  const header = new Uint8Array(14);
  const headerView = new DataView(header.buffer);
  header[0] = IMAGE_VERSION;
  header[1] = ENCODINGS.indexOf(encoding);
  setU64(headerView, 2, frameCount);
  headerView.setUint32(10, pageCount, true);
  const records = [encodeRecord(RecordType.imageHeader, header)];
  // Taken at once: the source may change while the hash is computed, its page arrays never do.
  const pages = [...source.pages()];
  const file = new Uint8Array(pageCount * PAGE_SIZE);
  let batch: FramePage[] = [];
  let stored = 0;
  const flush = (): void => {
    if (batch.length === 0) return;
    const body = new Uint8Array(batch.length * (4 + PAGE_SIZE));
    const view = new DataView(body.buffer);
    batch.forEach((page, i) => {
      view.setUint32(i * (4 + PAGE_SIZE), page.pgno, true);
      body.set(page.data, i * (4 + PAGE_SIZE) + 4);
    });
    let payload = body;
    if (encoding === 'deflate') {
      const deflated = rawDeflate.deflate(body);
      payload = new Uint8Array(4 + deflated.length);
      new DataView(payload.buffer).setUint32(0, batch.length, true);
      payload.set(deflated, 4);
    }
    records.push(encodeRecord(RecordType.imagePages, payload));
    batch = [];
  };
  for (const page of pages) {
    file.set(page.data, (page.pgno - 1) * PAGE_SIZE);
    batch.push(page);
    stored++;
    if (batch.length === PAGES_PER_RECORD) flush();
  }
  flush();
  const end = new Uint8Array(40);
  const endView = new DataView(end.buffer);
  endView.setUint32(0, pageCount, true);
  endView.setUint32(4, stored, true);
  end.set(new Uint8Array(await crypto.subtle.digest('SHA-256', file)), 8);
  records.push(encodeRecord(RecordType.imageEnd, end));
  return records;
}

/** Decodes an image, checking it is whole and matches its hash; throws PageImageError otherwise. */
export async function decodePageImage(bytes: Uint8Array): Promise<PageImage> {
  const { records } = decodeRecords(bytes);
  const header = records[0];
  if (header?.type !== RecordType.imageHeader || header.payload.length !== 14) {
    throw new PageImageError('no image header');
  }
  const headerView = view(header.payload);
  if (header.payload[0] !== IMAGE_VERSION) {
    throw new PageImageError(`unknown image version ${header.payload[0]}`);
  }
  const encoding = ENCODINGS[header.payload[1]!];
  if (encoding === undefined) throw new PageImageError(`unknown page encoding ${header.payload[1]}`);
  const frameCount = getU64(headerView, 2);
  const pageCount = headerView.getUint32(10, true);
  const pages: FramePage[] = [];
  for (const record of records.slice(1)) {
    if (record.type === RecordType.imageEnd) {
      const endView = view(record.payload);
      if (record.payload.length !== 40 || endView.getUint32(0, true) !== pageCount) {
        throw new PageImageError('malformed image end');
      }
      if (endView.getUint32(4, true) !== pages.length) {
        throw new PageImageError(
          `image holds ${pages.length} pages, its end says ${endView.getUint32(4, true)}`,
        );
      }
      const hash = await sha256Hex(fileParts(pages, pageCount));
      if (hash !== toHex(record.payload.subarray(8)))
        throw new PageImageError('image pages do not match its hash');
      return { frameCount, pageCount, pages, hash };
    }
    if (record.type !== RecordType.imagePages)
      throw new PageImageError(`unexpected record type ${record.type}`);
    let body = record.payload;
    if (encoding === 'deflate') {
      if (body.length < 4) throw new PageImageError('malformed compressed pages');
      const n = view(body).getUint32(0, true);
      if (n > PAGES_PER_RECORD) throw new PageImageError(`${n} pages in one record`);
      body = inflatePages(body.subarray(4), n * (4 + PAGE_SIZE));
    }
    if (body.length % (4 + PAGE_SIZE) !== 0) throw new PageImageError('partial page in image');
    const bodyView = view(body);
    for (let offset = 0; offset < body.length; offset += 4 + PAGE_SIZE) {
      const pgno = bodyView.getUint32(offset, true);
      const last = pages.at(-1)?.pgno ?? 0;
      if (pgno <= last || pgno > pageCount)
        throw new PageImageError(`page ${pgno} out of order or beyond ${pageCount}`);
      const data = body.slice(offset + 4, offset + 4 + PAGE_SIZE);
      pages.push({ pgno, data });
    }
  }
  throw new PageImageError('image is incomplete (no end record)');
}

/**
 * The file the pages make, as parts in order (holes as zeros), for its hash: hashed where they are
 * instead of copied into one buffer.
 */
function fileParts(pages: readonly FramePage[], pageCount: number): Uint8Array[] {
  const parts: Uint8Array[] = [];
  let next = 1;
  for (const { pgno, data } of pages) {
    for (; next < pgno; next++) parts.push(ZERO_PAGE);
    parts.push(data);
    next = pgno + 1;
  }
  for (; next <= pageCount; next++) parts.push(ZERO_PAGE);
  return parts;
}

const ZERO_PAGE = new Uint8Array(PAGE_SIZE);

/** `expected` bytes of pages inflated from `bytes`; anything else is a PageImageError. */
function inflatePages(bytes: Uint8Array, expected: number): Uint8Array {
  let body: Uint8Array;
  try {
    body = rawDeflate.inflate(bytes, expected);
  } catch (error) {
    if (!(error instanceof InflateError)) throw error;
    if (error.kind === 'too-large') throw new PageImageError('compressed pages inflate too far');
    throw new PageImageError('compressed pages are corrupt', { cause: error });
  }
  if (body.length !== expected) throw new PageImageError('compressed pages are truncated');
  return body;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function setU64(v: DataView, offset: number, value: number): void {
  v.setUint32(offset, value % 2 ** 32, true);
  v.setUint32(offset + 4, Math.floor(value / 2 ** 32), true);
}

function getU64(v: DataView, offset: number): number {
  return v.getUint32(offset, true) + v.getUint32(offset + 4, true) * 2 ** 32;
}
