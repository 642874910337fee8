// Applies a batch of mutations with the semantics of applying them one at a time, each in its own
// savepoint, while calling the reducer once for the whole batch in the common case.
//
// Invariants:
// 1. A mutation that is rejected, or whose reduce traps, leaves no writes.
// 2. The outcome of each mutation is the one it gets when applied after exactly the accepted
//    mutations before it (sequential semantics), whatever the batch boundaries were.
// 3. The procedure is a pure function of the batch and the reducer, so every replica (client or
//    coordinator) that applies the same batch over the same pages rejects the same mutations.
// 4. A mutation is rejected for a limit (fuel, SQL steps, memory) only by a verdict run: alone, in a
//    fresh instance, with the full budgets (limits.ts invariant 1). Its reason is exactly the limit's.
//
// Why: a reducer may turn a batch into multi-row statements, so the writes of different mutations
// cannot be told apart after the fact. So a run of mutations goes to the reducer in one call inside
// one savepoint. If mutation k of the run is rejected, the run is rolled back, its accepted prefix
// (which never saw k) runs again, then k alone in its own savepoint. A trap says nothing about which
// mutation caused it, so a trapping run is halved until the trapping mutation runs alone.
// Run lengths adapt: they double after a clean run and shrink to the distance between rejections,
// so a batch costs one call when nothing is rejected and stays linear when many are.

import type { MutationEnvelope, Outcome } from './reducer/host.js';
import { LIMIT_REASONS, type LimitKind } from './reducer/limits.js';

export type ReduceResult =
  | { readonly trapped: false; readonly outcomes: readonly Outcome[] }
  | { readonly trapped: true; readonly reason: string; readonly limit?: LimitKind | undefined };

/** What the procedure needs from a replica: a reducer call and nestable savepoints. */
export interface BatchTarget {
  /** With `verdict`, the batch (of one) runs in a fresh instance with the full budgets. */
  reduce(batch: readonly MutationEnvelope[], verdict: boolean): ReduceResult;
  savepoint(): void;
  release(): void;
  rollback(): void;
}

export function applySequentially(target: BatchTarget, batch: readonly MutationEnvelope[]): Outcome[] {
  const outcomes: Outcome[] = [];
  let i = 0;
  let runLength = batch.length;
  let aloneAt = -1;
  while (i < batch.length) {
    const length = Math.min(runLength, batch.length - i);
    if (i === aloneAt || length === 1) {
      outcomes.push(applyOne(target, batch[i]!));
      i++;
      continue;
    }
    target.savepoint();
    const result = target.reduce(batch.slice(i, i + length), false);
    if (result.trapped) {
      target.rollback();
      runLength = Math.ceil(length / 2);
      continue;
    }
    const k = result.outcomes.findIndex((o) => !o.ok);
    if (k < 0) {
      target.release();
      outcomes.push(...result.outcomes);
      i += length;
      runLength = length * 2;
      continue;
    }
    target.rollback();
    aloneAt = i + k;
    runLength = Math.max(1, k);
  }
  return outcomes;
}

function applyOne(target: BatchTarget, mutation: MutationEnvelope): Outcome {
  target.savepoint();
  let result = target.reduce([mutation], false);
  if (result.trapped && result.limit !== undefined) {
    // Reached outside a verdict run, a limit says only that this mutation comes near it (invariant 4).
    target.rollback();
    target.savepoint();
    result = target.reduce([mutation], true);
  }
  const outcome: Outcome = result.trapped
    ? {
        ok: false,
        reason:
          result.limit === undefined ? `reducer trapped: ${result.reason}` : LIMIT_REASONS[result.limit],
      }
    : (result.outcomes[0] ?? { ok: false, reason: 'reducer returned no outcome' });
  if (outcome.ok) target.release();
  else target.rollback();
  return outcome;
}
