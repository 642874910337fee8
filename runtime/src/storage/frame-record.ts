// The payload of a frame record in the frame log: u32 page count | u32 n | n × (u32 pgno | page bytes),
// little-endian, pages in pgno order. The frame's lsn is the log entry's. Decoding validates sizes and
// order: the CRC guards against torn writes, this guards against a writer bug reaching the store.
import type { Frame, FramePage } from '../frame.js';
import type { WireFrame } from '../protocol/common.js';
import { PAGE_SIZE } from '../vfs/page-store.js';

export class FrameRecordError extends Error {
  override readonly name = 'FrameRecordError';
}

/** The bytes `frame`'s record takes. */
const frameRecordSize = (frame: Frame): number => 8 + frame.pages.length * (4 + PAGE_SIZE);

export function encodeFrameRecord(frame: Frame): Uint8Array {
  const bytes = new Uint8Array(frameRecordSize(frame));
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

/**
 * The payload of a wire frame record (RecordType.wireFrame): u32 page count | u32 n | n × (u32 pgno |
 * u32 length | delta bytes), little-endian, pages in pgno order. A client's base log stores frames in
 * the form they arrived in (a small change costs tens of bytes, not a 4 KiB page); each delta is against
 * the page as the frames before it left it (protocol/page-delta.ts invariant 1), so recovery decodes
 * them in lsn order over the image they follow.
 */
function wireFrameRecordSize(wire: WireFrame): number {
  let size = 8;
  for (const page of wire.pages) size += 8 + page.delta.length;
  return size;
}

export function encodeWireFrameRecord(wire: WireFrame): Uint8Array {
  const bytes = new Uint8Array(wireFrameRecordSize(wire));
  const view = new DataView(bytes.buffer);
  view.setUint32(0, wire.pageCount, true);
  view.setUint32(4, wire.pages.length, true);
  let offset = 8;
  for (const page of wire.pages) {
    view.setUint32(offset, page.pgno, true);
    view.setUint32(offset + 4, page.delta.length, true);
    bytes.set(page.delta, offset + 8);
    offset += 8 + page.delta.length;
  }
  return bytes;
}

export function decodeWireFrameRecord(lsn: number, bytes: Uint8Array): WireFrame {
  if (bytes.length < 8) throw new FrameRecordError(`frame ${lsn}: ${bytes.length} bytes is too short`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pageCount = view.getUint32(0, true);
  const n = view.getUint32(4, true);
  const pages: { pgno: number; delta: Uint8Array }[] = [];
  let offset = 8;
  let previous = 0;
  for (let i = 0; i < n; i++) {
    if (offset + 8 > bytes.length) throw new FrameRecordError(`frame ${lsn}: page ${i} is cut short`);
    const pgno = view.getUint32(offset, true);
    const length = view.getUint32(offset + 4, true);
    if (pgno <= previous || pgno > pageCount) {
      throw new FrameRecordError(`frame ${lsn}: page ${pgno} out of order or beyond ${pageCount}`);
    }
    if (length === 0 || offset + 8 + length > bytes.length) {
      throw new FrameRecordError(`frame ${lsn}: page ${pgno}'s delta of ${length} bytes does not fit`);
    }
    previous = pgno;
    pages.push({ pgno, delta: bytes.subarray(offset + 8, offset + 8 + length) });
    offset += 8 + length;
  }
  if (offset !== bytes.length)
    throw new FrameRecordError(`frame ${lsn}: ${bytes.length - offset} bytes left over`);
  return { lsn, pageCount, pages };
}

/**
 * The wire form each frame decoded from the coordinator's came in, while the frame lives: the client's
 * base log stores that instead of the pages (`wireFormOf`). Beside the frame, not on it: a frame stays the
 * plain value frame.ts describes, and one made any other way is stored with its pages.
 */
const wireForms = new WeakMap<Frame, WireFrame>();

/** Records that `frame` was decoded from `wire` (against the receiver's previous pages). */
export function keepWireForm(frame: Frame, wire: WireFrame): void {
  wireForms.set(frame, wire);
}

export function wireFormOf(frame: Frame): WireFrame | undefined {
  return wireForms.get(frame);
}

/** The payload bytes `frame` takes in a frame log: its wire form's where `wire` and it has one. */
export function storedFrameBytes(frame: Frame, wire: boolean): number {
  const form = wire ? wireForms.get(frame) : undefined;
  return form === undefined ? frameRecordSize(frame) : wireFrameRecordSize(form);
}
