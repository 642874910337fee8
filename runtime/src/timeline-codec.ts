// The binary form of a mutation and its envelope, as the timeline stores it (and, later, as pushes
// carry it). Decoding validates everything: a malformed record is a TimelineCodecError, never a
// crash, a huge allocation or a half-read envelope.
//
// Layout (little-endian): u8 version | u64 lsn | u64 timestamp | u16 timeline-id length |
// timeline-id (UTF-8) | u32 payload length | payload. Nothing may follow.

import type { MutationEnvelope } from './reducer/host.js';

export const MUTATION_FORMAT_VERSION = 1;
export const MAX_TIMELINE_ID_BYTES = 256;
export const MAX_PAYLOAD_BYTES = 1 << 20;

export type TimelineCodecErrorKind = 'truncated' | 'trailing-bytes' | 'unknown-version' | 'out-of-range';

export class TimelineCodecError extends Error {
  override readonly name = 'TimelineCodecError';
  readonly kind: TimelineCodecErrorKind;
  constructor(kind: TimelineCodecErrorKind, message: string) {
    super(message);
    this.kind = kind;
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeMutation(m: MutationEnvelope): Uint8Array {
  const id = encoder.encode(m.timelineId);
  if (id.length > MAX_TIMELINE_ID_BYTES) {
    throw new TimelineCodecError(
      'out-of-range',
      `timeline id is ${id.length} bytes (max ${MAX_TIMELINE_ID_BYTES})`,
    );
  }
  if (m.payload.length > MAX_PAYLOAD_BYTES) {
    throw new TimelineCodecError(
      'out-of-range',
      `payload is ${m.payload.length} bytes (max ${MAX_PAYLOAD_BYTES})`,
    );
  }
  for (const [field, v] of [
    ['lsn', m.lsn],
    ['timestamp', m.timestamp],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new TimelineCodecError('out-of-range', `${field} must be a non-negative safe integer, got ${v}`);
    }
  }
  const bytes = new Uint8Array(1 + 8 + 8 + 2 + id.length + 4 + m.payload.length);
  const view = new DataView(bytes.buffer);
  let at = 0;
  view.setUint8(at, MUTATION_FORMAT_VERSION);
  at += 1;
  view.setBigUint64(at, BigInt(m.lsn), true);
  at += 8;
  view.setBigUint64(at, BigInt(m.timestamp), true);
  at += 8;
  view.setUint16(at, id.length, true);
  at += 2;
  bytes.set(id, at);
  at += id.length;
  view.setUint32(at, m.payload.length, true);
  at += 4;
  bytes.set(m.payload, at);
  return bytes;
}

/**
 * The mutation `bytes` hold (from `start` to `end`). Its payload is a view of `bytes`, not a copy: a
 * copy each is an allocation each for the collector to track.
 */
export function decodeMutation(bytes: Uint8Array, start = 0, end = bytes.length): MutationEnvelope {
  const { timelineId, lsn, timestamp, at, payloadLength } = decodeHeader(bytes, start, end);
  return { timelineId, lsn, timestamp, payload: bytes.subarray(at, at + payloadLength) };
}

/** Filled by `decodeHeader` and read at once by its caller (decoding is synchronous): no object per record. */
const header = { timelineId: '', lsn: 0, timestamp: 0, at: 0, payloadLength: 0 };

/**
 * What `decodeMutation` checks and returns but the payload (not copied): for a reader that only needs
 * the envelope (the timeline audit). Throws as `decodeMutation` does.
 */
export function decodeMutationHeader(bytes: Uint8Array): Omit<MutationEnvelope, 'payload'> {
  const { timelineId, lsn, timestamp } = decodeHeader(bytes, 0, bytes.length);
  return { timelineId, lsn, timestamp };
}

/**
 * Checks the mutation in `bytes` from `start` to `end` as `decodeMutation` would decode it (it throws
 * the same errors), without a view or an object of its own: its lsn and timeline id come back in an
 * object the next call reuses (read them at once). Recovery checks every pending mutation at open and
 * decodes them only when they are needed (storage/recovered-mutations.ts).
 */
export function checkMutation(
  bytes: Uint8Array,
  start: number,
  end: number,
): { readonly timelineId: string; readonly lsn: number } {
  return decodeHeader(bytes, start, end);
}

function decodeHeader(bytes: Uint8Array, start: number, end: number): Readonly<typeof header> {
  // Byte reads, no DataView, no closure, no BigInt: recovery checks every pending mutation at each open.
  // Offsets below are from `start`; `length` is the record's.
  const length = end - start;
  if (length < 1) throw truncated('version', length);
  const version = bytes[start]!;
  if (version !== MUTATION_FORMAT_VERSION) {
    throw new TimelineCodecError(
      'unknown-version',
      `mutation record version ${version} (this build reads 1)`,
    );
  }
  if (length < 17) throw truncated('envelope', length);
  const lsn = safe(bytes, start + 1, 'lsn');
  const timestamp = safe(bytes, start + 9, 'timestamp');
  if (length < 19) throw truncated('timeline id length', length);
  const idLength = bytes[start + 17]! | (bytes[start + 18]! << 8);
  if (idLength > MAX_TIMELINE_ID_BYTES) {
    throw new TimelineCodecError(
      'out-of-range',
      `timeline id of ${idLength} bytes (max ${MAX_TIMELINE_ID_BYTES})`,
    );
  }
  let at = start + 19;
  if (at + idLength > end) throw truncated('timeline id', length);
  const timelineId = decodeTimelineId(bytes, at, idLength);
  at += idLength;
  if (at + 4 > end) throw truncated('payload length', length);
  const payloadLength = u32(bytes, at);
  at += 4;
  if (payloadLength > MAX_PAYLOAD_BYTES) {
    throw new TimelineCodecError(
      'out-of-range',
      `payload of ${payloadLength} bytes (max ${MAX_PAYLOAD_BYTES})`,
    );
  }
  if (at + payloadLength > end) throw truncated('payload', length);
  if (at + payloadLength !== end) {
    throw new TimelineCodecError(
      'trailing-bytes',
      `${end - at - payloadLength} bytes after the mutation record`,
    );
  }
  header.timelineId = timelineId;
  header.lsn = lsn;
  header.timestamp = timestamp;
  header.at = at;
  header.payloadLength = payloadLength;
  return header;
}

function truncated(what: string, length: number): TimelineCodecError {
  return new TimelineCodecError('truncated', `mutation record ends inside its ${what} (${length} bytes)`);
}

function u32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

/** The little-endian u64 at `at`, which must be a safe integer. */
function safe(bytes: Uint8Array, at: number, field: string): number {
  const high = u32(bytes, at + 4);
  if (high >= 2 ** 21) {
    const value = (BigInt(high) << 32n) | BigInt(u32(bytes, at));
    throw new TimelineCodecError('out-of-range', `${field} ${value} is beyond 2^53`);
  }
  return high * 2 ** 32 + u32(bytes, at);
}

/** The last timeline id decoded: a timeline's records all carry the same one, decoded once. */
let lastId: { readonly bytes: Uint8Array; readonly text: string } | undefined;

function decodeTimelineId(bytes: Uint8Array, at: number, length: number): string {
  const last = lastId;
  if (last !== undefined && last.bytes.length === length) {
    let same = true;
    for (let i = 0; i < length; i++) {
      if (last.bytes[i] !== bytes[at + i]) {
        same = false;
        break;
      }
    }
    if (same) return last.text;
  }
  const raw = bytes.slice(at, at + length);
  let text: string;
  try {
    text = decoder.decode(raw);
  } catch {
    throw new TimelineCodecError('out-of-range', 'timeline id is not valid UTF-8');
  }
  lastId = { bytes: raw, text };
  return text;
}
