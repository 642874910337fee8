// How a SyncClient cuts its pending mutations into pushes (sync-client.ts S3): pushes awaiting their
// result stay within the coordinator's window, so a long offline backlog never trips its quota.
//
// Invariants:
// W1. A push holds at least one mutation, at most MAX_PUSH_MUTATIONS, and no more than PUSH_BYTES of
//     payload unless its one mutation alone is larger.
// W2. No push starts while MAX_PUSHES_IN_FLIGHT await their result, nor one that would take the bytes in
//     flight past MAX_PUSH_BYTES_IN_FLIGHT, unless nothing is in flight (a mutation larger than the
//     window still goes, alone).
// W3. Pushes cover a prefix of `pending`, in order: what is left goes out as results come back.
import {
  MAX_PAYLOAD_BYTES,
  MAX_PUSH_BYTES_IN_FLIGHT,
  MAX_PUSH_MUTATIONS,
  MAX_PUSHES_IN_FLIGHT,
} from '../protocol/limits.js';

/** Pushes stop filling a message past this many payload bytes. */
const PUSH_BYTES = Math.min(MAX_PAYLOAD_BYTES, 512 * 1024);

/** What is in flight: each push's payload bytes, oldest first, and their sum. */
export interface InFlight {
  readonly inFlight: readonly number[];
  readonly inFlightBytes: number;
}

/** The next push out of `pending` (W1–W3): `[start, end)` and its payload bytes, or undefined when none may leave. */
export function nextPush<T extends { readonly payload: Uint8Array }>(
  pending: readonly T[],
  start: number,
  window: InFlight,
): { readonly end: number; readonly bytes: number } | undefined {
  if (start >= pending.length || window.inFlight.length >= MAX_PUSHES_IN_FLIGHT) return undefined;
  let bytes = 0;
  let end = start;
  while (end < pending.length && end - start < MAX_PUSH_MUTATIONS) {
    const next = pending[end]!.payload.length;
    if (end > start && bytes + next > PUSH_BYTES) break;
    bytes += next;
    end++;
  }
  if (window.inFlight.length > 0 && window.inFlightBytes + bytes > MAX_PUSH_BYTES_IN_FLIGHT) return undefined;
  return { end, bytes };
}
