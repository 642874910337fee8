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

export function decodeMutation(bytes: Uint8Array): MutationEnvelope {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const need = (n: number, what: string) => {
    if (at + n > bytes.length) {
      throw new TimelineCodecError(
        'truncated',
        `mutation record ends inside its ${what} (${bytes.length} bytes)`,
      );
    }
  };
  need(1, 'version');
  const version = view.getUint8(at);
  at += 1;
  if (version !== MUTATION_FORMAT_VERSION) {
    throw new TimelineCodecError(
      'unknown-version',
      `mutation record version ${version} (this build reads 1)`,
    );
  }
  need(16, 'envelope');
  const lsn = safe(view.getBigUint64(at, true), 'lsn');
  const timestamp = safe(view.getBigUint64(at + 8, true), 'timestamp');
  at += 16;
  need(2, 'timeline id length');
  const idLength = view.getUint16(at, true);
  at += 2;
  if (idLength > MAX_TIMELINE_ID_BYTES) {
    throw new TimelineCodecError(
      'out-of-range',
      `timeline id of ${idLength} bytes (max ${MAX_TIMELINE_ID_BYTES})`,
    );
  }
  need(idLength, 'timeline id');
  let timelineId: string;
  try {
    timelineId = decoder.decode(bytes.subarray(at, at + idLength));
  } catch {
    throw new TimelineCodecError('out-of-range', 'timeline id is not valid UTF-8');
  }
  at += idLength;
  need(4, 'payload length');
  const payloadLength = view.getUint32(at, true);
  at += 4;
  if (payloadLength > MAX_PAYLOAD_BYTES) {
    throw new TimelineCodecError(
      'out-of-range',
      `payload of ${payloadLength} bytes (max ${MAX_PAYLOAD_BYTES})`,
    );
  }
  need(payloadLength, 'payload');
  const payload = bytes.slice(at, at + payloadLength);
  at += payloadLength;
  if (at !== bytes.length) {
    throw new TimelineCodecError('trailing-bytes', `${bytes.length - at} bytes after the mutation record`);
  }
  return { timelineId, lsn, timestamp, payload };
}

function safe(v: bigint, field: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new TimelineCodecError('out-of-range', `${field} ${v} is beyond 2^53`);
  }
  return Number(v);
}
