// The exports of the `reducer` world, lifted and lowered for `tandem build`'s generated entry file.
// Authors never import this module. Every export ends with `__collect()` (runtime `minimal`): the
// module's managed garbage from one call is gone before the next.

import { cabiRealloc, envEnter, liftBytes, lowerOwnedString, release } from './abi';
import { abortCall, enter, seedFromEnvelope, unseedMath } from './env';
import { Mutation, Outcome } from './mutation';
import { forgetOrigins } from './utf8-origin';

export { abortCall, enter, seedFromEnvelope };

const MIGRATE_RET: usize = memory.data(12, 4);
const REDUCE_RET: usize = memory.data(8, 4);
const MUTATION_SIZE: usize = 32;
const OUTCOME_SIZE: usize = 12;

export function cabi_realloc(oldPtr: usize, oldSize: usize, align: usize, newSize: usize): usize {
  return cabiRealloc(oldPtr, oldSize, align, newSize);
}

/**
 * Lifts `list<mutation>` and frees what the host lowered. Mutations of one timeline come in a row and
 * share its id: an id whose bytes equal the previous mutation's is not decoded again.
 */
export function liftBatch(ptr: usize, len: usize): Mutation[] {
  const batch = new Array<Mutation>(<i32>len);
  let timelineId = '';
  let idPtr: usize = 0;
  let idLen: usize = 0;
  for (let i: usize = 0; i < len; i++) {
    const at = ptr + i * MUTATION_SIZE;
    const nextPtr = <usize>load<u32>(at);
    const nextLen = <usize>load<u32>(at, 4);
    if (i === 0 || nextLen !== idLen || memory.compare(nextPtr, idPtr, nextLen) !== 0) {
      timelineId = String.UTF8.decodeUnsafe(nextPtr, nextLen);
    }
    release(idPtr, idLen);
    idPtr = nextPtr;
    idLen = nextLen;
    const payload = liftBytes(load<u32>(at, 24), load<u32>(at, 28));
    batch[<i32>i] = new Mutation(timelineId, load<u64>(at, 8), load<u64>(at, 16), payload);
  }
  release(idPtr, idLen);
  release(ptr, len);
  return batch;
}

function lowerOutcome(outcome: Outcome, at: usize): void {
  const reason = outcome.reason;
  if (reason == null) {
    store<u8>(at, 0);
  } else {
    store<u8>(at, 1);
    lowerOwnedString(reason, at + 4);
  }
}

function releaseOutcome(at: usize): void {
  if (load<u8>(at) !== 0) release(load<u32>(at, 4), load<u32>(at, 8));
}

/** Called as a migration starts: `Math.random` follows the migration's envelope. */
export function beginMigrate(): void {
  unseedMath();
}

/** Called before `reduceBatch`: the first mutation is current, and `Math.random` follows it. */
export function beginBatch(batchLength: i32): void {
  if (batchLength > 0) unseedMath();
}

/** Lowers `result<_, string>` and ends the export. */
export function endMigrate(outcome: Outcome): usize {
  lowerOutcome(outcome, MIGRATE_RET);
  forgetOrigins();
  __collect();
  return MIGRATE_RET;
}

export function cabi_post_migrate(ret: usize): void {
  releaseOutcome(ret);
}

/**
 * Says that the batch's mutations are done (`enter(batch length)`): what follows (lowering the
 * outcomes, collecting garbage) is the glue's, and the host meters it apart from the last mutation, so
 * a mutation's fuel does not depend on its place in the batch.
 */
export function endMutations(batchLength: i32): void {
  envEnter(<u32>batchLength);
}

/** Lowers `list<result<_, string>>` and ends the export. A count that differs from the batch's traps. */
export function endReduce(outcomes: Outcome[], batchLength: i32): usize {
  if (outcomes.length !== batchLength) unreachable();
  const n = <usize>outcomes.length;
  const list = n > 0 ? heap.alloc(n * OUTCOME_SIZE) : 4;
  for (let i: usize = 0; i < n; i++) lowerOutcome(unchecked(outcomes[<i32>i]), list + i * OUTCOME_SIZE);
  store<u32>(REDUCE_RET, <u32>list);
  store<u32>(REDUCE_RET, <u32>n, 4);
  forgetOrigins();
  __collect();
  return REDUCE_RET;
}

export function cabi_post_reduce(ret: usize): void {
  const list = <usize>load<u32>(ret);
  const n = <usize>load<u32>(ret, 4);
  for (let i: usize = 0; i < n; i++) releaseOutcome(list + i * OUTCOME_SIZE);
  release(list, n);
}
