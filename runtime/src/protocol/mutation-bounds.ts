// The domain of a mutation, defined once. The push schema (push.ts) is built from these schemas, the
// coordinator's AuthorityDocument refuses any request outside them (`pushProblem`), and
// LocalDocument.mutate refuses a mutation outside them before it reaches the timeline
// (`mutationProblem`, mutation-domain.ts: the same checks without the schemas). So:
// 1. A mutation a client accepted locally is never refused by the coordinator as malformed: it is
//    confirmed or rejected by the reducer.
// 2. Everything inside the domain can be reduced on every host: the reducer's ABI, the timeline codec and
//    the VFS clock take lsn and timestamp as unsigned 64-bit safe integers, and the payload is at most
//    what the timeline codec stores. Nothing a client sends can make the reducer host throw.
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { MutationEnvelope } from '../reducer/host.js';
import { Id, Lsn } from './common.js';
import { MAX_PAYLOAD_BYTES, MAX_PUSH_MUTATIONS } from './limits.js';
import { mutationProblem } from './mutation-domain.js';

// The local write path checks a mutation without these schemas (mutation-domain.ts, same answers).
export { mutationProblem, timestampProblem } from './mutation-domain.js';

/** Milliseconds since the epoch; the reducer sees it as a u64. */
export const Timestamp = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
export const Payload = Type.Uint8Array({ maxByteLength: MAX_PAYLOAD_BYTES });

/** A mutation as a push carries it (its timeline is the connection's). */
export const WireMutation = Type.Object(
  { lsn: Lsn, timestamp: Timestamp, payload: Payload },
  { additionalProperties: false },
);
export type WireMutation = Static<typeof WireMutation>;

export const PushMutations = Type.Array(WireMutation, { minItems: 1, maxItems: MAX_PUSH_MUTATIONS });

/**
 * Bytes a mutation adds to an encoded push beyond its payload (msgpack: map header, three keys, two
 * 64-bit integers, a bin32 header, and the array's share), rounded up.
 */
export const MUTATION_WIRE_OVERHEAD = 64;

/** Why `field`'s value is outside `schema`, or undefined when it is inside. */
function problem(
  schema: Parameters<typeof Value.Check>[0],
  value: unknown,
  field: string,
): string | undefined {
  if (Value.Check(schema, value)) return undefined;
  const first = Value.Errors(schema, value).First();
  return `${field}${first?.path ?? ''}: ${first?.message ?? 'invalid'}`;
}

/**
 * Why these mutations cannot be one push of `timelineId` (what the schema of `push` checks, plus that
 * each belongs to the timeline and their lsns are consecutive), or undefined when they can.
 */
export function pushProblem(timelineId: unknown, mutations: unknown): string | undefined {
  const id = problem(Id, timelineId, 'timelineId');
  if (id !== undefined) return id;
  if (!Array.isArray(mutations)) return 'mutations must be an array';
  if (mutations.length === 0 || mutations.length > MAX_PUSH_MUTATIONS) {
    return `a push carries 1 to ${MAX_PUSH_MUTATIONS} mutations, not ${mutations.length}`;
  }
  let previous: number | undefined;
  for (const [i, m] of (mutations as readonly unknown[]).entries()) {
    if (typeof m !== 'object' || m === null) return `mutation ${i} is not an object`;
    const { timelineId: owner, lsn, timestamp, payload } = m as Partial<MutationEnvelope>;
    if (owner !== timelineId) return `mutation ${i} belongs to another timeline`;
    const bad = mutationProblem({ lsn, timestamp, payload });
    if (bad !== undefined) return `mutation ${i}: ${bad}`;
    if (previous !== undefined && lsn !== previous + 1) {
      return `mutations must be consecutive: ${lsn} follows ${previous}`;
    }
    previous = lsn as number;
  }
  return undefined;
}
