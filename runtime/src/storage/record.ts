// The one record format of every journal file (frame log, timeline, page file, snapshot):
//
//   u32 length | u8 type | payload (length bytes) | u32 CRC-32C of (length, type, payload)
//
// all little-endian. A file is a sequence of records and nothing else.
//
// Invariants:
// 1. Decoding stops at the first record that is incomplete, oversized, of an unknown type or fails its
//    CRC: that record and everything after it is the torn tail. It is reported (`tailBytes`) and never
//    returned, so recovery applies only records that were written whole.
// 2. The CRC covers the length and the type too, so a torn length cannot make garbage look like a record.
// 3. A reader may skip the CRC of bytes it verified otherwise, and only those: bytes whose SHA-256 equals
//    the digest of records as `encodeRecord` made them are those records, each CRC correct, so checking
//    it again finds nothing (`scanRecords`' `verifiedTo`); or bytes whose every use is checked by a
//    SHA-256 before anything relies on it (a persisted overlay's pages: the visible file they make must
//    hash as its header says, overlay-cache.ts invariant 3). Any other byte is CRC-checked.

import { crc32c } from './crc32c.js';

export const RECORD_OVERHEAD = 9;
/** Bytes before a record's payload (length, type) and after it (CRC). */
export const RECORD_HEAD = 5;
export const RECORD_TAIL = 4;
/** No record is larger: a length beyond it is a torn or corrupt tail, not an allocation request. */
export const MAX_RECORD_PAYLOAD = 64 * 1024 * 1024;

export const RecordType = {
  /** A frame of the frame log: lsn, page count, pages. */
  frame: 1,
  /** A pending local mutation of the timeline, with its envelope. */
  mutation: 2,
  /** Opens a page image (page file or snapshot): lsn, page count, page encoding. */
  imageHeader: 3,
  /** Some pages of a page image. */
  imagePages: 4,
  /** Closes a page image: page count and hash; an image without it is incomplete. */
  imageEnd: 5,
  /** Who this replica is: its timeline id (UTF-8), written once when the document is created. */
  identity: 6,
  /** A client's current coordinator history: the journal id (UTF-8) its base comes from. */
  history: 7,
  /** The frame log's high-water mark: frames durable when it was written, and the journal's identity. */
  syncMark: 8,
  /** A client's timeline secret (hex), written once beside its identity (storage/timeline-secret.ts). */
  timelineSecret: 9,
  /** Opens a persisted overlay (storage/overlay-cache.ts): what it was made from, as JSON. */
  overlayHeader: 10,
  /** Some pages of a persisted overlay: n × (u32 pgno | page). */
  overlayPages: 11,
  /** Closes a persisted overlay: how many pages it stored; an overlay without it is incomplete. */
  overlayEnd: 12,
  /**
   * A frame of a client's base log as it came on the wire (frame-record.ts): lsn, page count, each
   * page a delta against its version after the frames before it (protocol/page-delta.ts).
   */
  wireFrame: 13,
  /** The highest schema version a reducer ran a client's document at (storage/schema-mark.ts), as JSON. */
  schemaMark: 14,
  /**
   * A reducer a client's document was moved to, kept beside the schema mark (storage/schema-mark.ts):
   * u32 header length | header JSON (sha256, schemaVersion) | the prepared reducer's bytes.
   */
  markedReducer: 15,
} as const;

export type RecordType = (typeof RecordType)[keyof typeof RecordType];

const TYPES = new Set<number>(Object.values(RecordType));

export interface JournalRecord {
  readonly type: RecordType;
  readonly payload: Uint8Array;
}

export function encodeRecord(type: RecordType, payload: Uint8Array): Uint8Array {
  if (payload.length > MAX_RECORD_PAYLOAD) {
    throw new RangeError(`record payload of ${payload.length} bytes exceeds ${MAX_RECORD_PAYLOAD}`);
  }
  const bytes = new Uint8Array(RECORD_OVERHEAD + payload.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, payload.length, true);
  bytes[4] = type;
  bytes.set(payload, 5);
  view.setUint32(5 + payload.length, crc32c(bytes.subarray(0, 5 + payload.length)), true);
  return bytes;
}

export interface DecodedRecords {
  readonly records: JournalRecord[];
  /** Bytes taken by the whole records. */
  readonly validBytes: number;
  /** Bytes after them: a torn or corrupt tail, dropped. */
  readonly tailBytes: number;
}

export function decodeRecords(bytes: Uint8Array): DecodedRecords {
  const records: JournalRecord[] = [];
  const validBytes = scanRecords(bytes, (type, start, end) => {
    records.push({ type, payload: bytes.subarray(start, end) });
    return true;
  });
  return { records, validBytes, tailBytes: bytes.length - validBytes };
}

/**
 * Calls `visit` with each whole record's type and where its payload lies in `bytes`, as decodeRecords
 * finds them, from offset `from` on, until it returns false; returns the offset after the last record
 * visited. For readers of many small records (a timeline holds one per mutation): no array or object
 * per record. Records that end at or before `verifiedTo` are not CRC-checked (invariant 3): the caller
 * verified those bytes by a digest of them.
 */
export function scanRecords(
  bytes: Uint8Array,
  visit: (type: RecordType, payloadStart: number, payloadEnd: number) => boolean,
  from = 0,
  verifiedTo = from,
): number {
  let offset = from;
  while (offset + RECORD_OVERHEAD <= bytes.length) {
    const length = u32(bytes, offset);
    const type = bytes[offset + 4]!;
    if (length > MAX_RECORD_PAYLOAD || !TYPES.has(type)) break;
    const end = offset + RECORD_OVERHEAD + length;
    if (end > bytes.length) break;
    if (end > verifiedTo && crc32c(bytes, 0, offset, end - 4) !== u32(bytes, end - 4)) break;
    if (!visit(type as RecordType, offset + 5, end - 4)) break;
    offset = end;
  }
  return offset;
}

/**
 * Where the `count` records from `offset` end, by their lengths alone (no CRC, no type): undefined when
 * `bytes` end first or a length is beyond MAX_RECORD_PAYLOAD. For a reader about to verify those bytes
 * by a digest (invariant 3).
 */
export function recordsEnd(bytes: Uint8Array, offset: number, count: number): number | undefined {
  let end = offset;
  for (let i = 0; i < count; i++) {
    if (end + RECORD_OVERHEAD > bytes.length) return undefined;
    const length = u32(bytes, end);
    if (length > MAX_RECORD_PAYLOAD) return undefined;
    end += RECORD_OVERHEAD + length;
  }
  return end <= bytes.length ? end : undefined;
}

function u32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}
