// The payload of a frame record in the frame log: u32 page count | u32 n | n × (u32 pgno | page bytes),
// little-endian, pages in pgno order. The frame's lsn is the log entry's. Decoding validates sizes and
// order: the CRC guards against torn writes, this guards against a writer bug reaching the store.
import type { Frame, FramePage } from '../frame.js';
import { PAGE_SIZE } from '../vfs/page-store.js';

export class FrameRecordError extends Error {
  override readonly name = 'FrameRecordError';
}

export function encodeFrameRecord(frame: Frame): Uint8Array {
  const bytes = new Uint8Array(8 + frame.pages.length * (4 + PAGE_SIZE));
  const view = new DataView(bytes.buffer);
  view.setUint32(0, frame.pageCount, true);
  view.setUint32(4, frame.pages.length, true);
  let offset = 8;
  for (const page of frame.pages) {
    if (page.data.length !== PAGE_SIZE) throw new RangeError(`page ${page.pgno} is not ${PAGE_SIZE} bytes`);
    view.setUint32(offset, page.pgno, true);
    bytes.set(page.data, offset + 4);
    offset += 4 + PAGE_SIZE;
  }
  return bytes;
}

export function decodeFrameRecord(lsn: number, bytes: Uint8Array): Frame {
  if (bytes.length < 8) throw new FrameRecordError(`frame ${lsn}: ${bytes.length} bytes is too short`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pageCount = view.getUint32(0, true);
  const n = view.getUint32(4, true);
  if (bytes.length !== 8 + n * (4 + PAGE_SIZE)) {
    throw new FrameRecordError(`frame ${lsn}: ${bytes.length} bytes do not hold ${n} pages`);
  }
  const pages: FramePage[] = [];
  let previous = 0;
  for (let i = 0, offset = 8; i < n; i++, offset += 4 + PAGE_SIZE) {
    const pgno = view.getUint32(offset, true);
    if (pgno <= previous || pgno > pageCount) {
      throw new FrameRecordError(`frame ${lsn}: page ${pgno} out of order or beyond ${pageCount}`);
    }
    previous = pgno;
    pages.push({ pgno, data: bytes.slice(offset + 4, offset + 4 + PAGE_SIZE) });
  }
  return { lsn, pageCount, pages };
}
