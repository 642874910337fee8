// Mutations as `mutate` takes them turned into envelopes: each payload its bytes, or its JSON as UTF-8,
// checked against the bounds the coordinator enforces (protocol/mutation-bounds.ts).
//
// Invariants:
// 1. A batch is turned into envelopes whole or not at all: the first mutation that cannot be synced
//    (not serializable, out of bounds) throws `invalid-argument` and no envelope is made.
// 2. Each payload is a copy: bytes the caller overwrites later do not change a queued mutation.
import { TandemError } from './errors.js';
import { mutationProblem } from './protocol/mutation-domain.js';
import type { MutationEnvelope } from './reducer/host.js';

export interface MutateOptions {
  /** The envelope's timestamp (ms since the epoch); `Date.now()` by default. */
  readonly timestamp?: number;
}

/**
 * The envelopes of `mutations` from lsn `firstLsn` on, each inside the bounds the coordinator enforces
 * (mutation-bounds.ts); a TandemError `invalid-argument` for the first that is not.
 */
export function checkedEnvelopes(
  timelineId: string,
  firstLsn: number,
  mutations: readonly unknown[],
  options: MutateOptions,
): MutationEnvelope[] {
  if (!Array.isArray(mutations)) {
    throw new TandemError('invalid-argument', 'mutateBatch takes an array of mutations');
  }
  if (typeof options !== 'object' || options === null) {
    throw new TandemError('invalid-argument', 'mutate options must be an object');
  }
  const timestamp = options.timestamp ?? Date.now();
  // The payloads are written one after another into a scratch buffer, then copied into one buffer for
  // the batch, each a view of it: one allocation per batch instead of one (TextEncoder.encode's, made
  // in C++: ~1 µs) per mutation. A batch's payloads live about as long as each other (pending together).
  // A mutate called from a mutation's toJSON (while this one is writing) gets a scratch of its own.
  const writer = idleWriter ?? new PayloadWriter();
  idleWriter = undefined;
  try {
    const ends: number[] = [];
    for (let i = 0; i < mutations.length; i++) {
      const start = writer.used;
      writer.write(mutations[i]);
      ends.push(writer.used);
      const payload = writer.bytes.subarray(start, writer.used);
      const problem = mutationProblem({ lsn: firstLsn + i, timestamp, payload });
      if (problem !== undefined) {
        throw new TandemError('invalid-argument', `mutation ${i} cannot be synced: ${problem}`, {
          reason: problem,
        });
      }
    }
    const bytes = writer.bytes.slice(0, writer.used);
    let start = 0;
    return ends.map((end, i) => {
      const envelope = { timelineId, lsn: firstLsn + i, timestamp, payload: bytes.subarray(start, end) };
      start = end;
      return envelope;
    });
  } finally {
    writer.reset();
    idleWriter = writer;
  }
}

/** Mutations' payloads written one after another: their bytes (copies), or their JSON as UTF-8. */
class PayloadWriter {
  static readonly MIN_BYTES = 64 * 1024;
  /** A buffer grown past this for a large batch is let go once the batch is copied out. */
  static readonly MAX_KEPT_BYTES = 4 * 1024 * 1024;
  bytes = new Uint8Array(PayloadWriter.MIN_BYTES);
  used = 0;

  write(mutation: unknown): void {
    if (mutation instanceof Uint8Array) {
      this.#reserve(mutation.length);
      this.bytes.set(mutation, this.used);
      this.used += mutation.length;
      return;
    }
    const json = stringifyMutation(mutation);
    // UTF-16 to UTF-8 takes at most 3 bytes per unit.
    this.#reserve(3 * json.length);
    this.used += payloadEncoder.encodeInto(json, this.bytes.subarray(this.used)).written;
  }

  reset(): void {
    this.used = 0;
    if (this.bytes.length > PayloadWriter.MAX_KEPT_BYTES)
      this.bytes = new Uint8Array(PayloadWriter.MIN_BYTES);
  }

  #reserve(more: number): void {
    if (this.used + more <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.used + more, 2 * this.bytes.length));
    grown.set(this.bytes.subarray(0, this.used));
    this.bytes = grown;
  }
}

let idleWriter: PayloadWriter | undefined = new PayloadWriter();

/** A mutation's JSON, or a TandemError `invalid-argument`. */
function stringifyMutation(mutation: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(mutation);
  } catch (error) {
    throw new TandemError(
      'invalid-argument',
      `a mutation must be JSON-serializable: ${String(error)}`,
      {},
      {
        cause: error,
      },
    );
  }
  if (json === undefined) {
    throw new TandemError('invalid-argument', 'a mutation must be JSON-serializable or a Uint8Array');
  }
  return json;
}

const payloadEncoder = new TextEncoder();
