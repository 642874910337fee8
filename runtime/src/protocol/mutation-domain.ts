// The checks of a mutation's fields (lsn, timestamp, payload) without a schema library, for the local
// write path: LocalDocument.mutate refuses a mutation outside the domain before it reaches the
// timeline, and opening or writing a document does not load the protocol's schemas.
// Invariant: each check accepts exactly what its schema in mutation-bounds.ts accepts (Lsn, Timestamp,
// Payload), and refuses with the same words (the schema library's first error, after the field's name);
// mutation-domain.test.ts holds them to it over arbitrary values.
import { MAX_PAYLOAD_BYTES } from './limits.js';

/** Why `value` is not an integer in 0..MAX_SAFE_INTEGER (Lsn, Timestamp), or undefined when it is. */
function safeIndexProblem(value: unknown, field: string): string | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value)) return `${field}: Expected integer`;
  if (value < 0) return `${field}: Expected integer to be greater or equal to 0`;
  if (value > Number.MAX_SAFE_INTEGER) {
    return `${field}: Expected integer to be less or equal to ${Number.MAX_SAFE_INTEGER}`;
  }
  return undefined;
}

/** Why a timestamp cannot be an envelope's, or undefined when it can. */
export function timestampProblem(timestamp: unknown): string | undefined {
  return safeIndexProblem(timestamp, 'timestamp');
}

/** Why this mutation cannot be pushed (lsn, timestamp, payload), or undefined when it can. */
export function mutationProblem(m: {
  readonly lsn: unknown;
  readonly timestamp: unknown;
  readonly payload: unknown;
}): string | undefined {
  return safeIndexProblem(m.lsn, 'lsn') ?? timestampProblem(m.timestamp) ?? payloadProblem(m.payload);
}

function payloadProblem(payload: unknown): string | undefined {
  if (!(payload instanceof Uint8Array)) return 'payload: Expected Uint8Array';
  if (payload.length > MAX_PAYLOAD_BYTES) {
    return `payload: Expected byte length less or equal to ${MAX_PAYLOAD_BYTES}`;
  }
  return undefined;
}
