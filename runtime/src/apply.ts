// Applies a batch of mutations with the semantics of applying them one at a time, each in its own
// savepoint, while calling the reducer once for the whole batch in the common case.
//
// Invariants:
// 1. A mutation that is rejected, or whose reduce traps, leaves no writes.
// 2. The outcome of each mutation is the one it gets when applied after exactly the accepted
//    mutations before it (sequential semantics), whatever the batch boundaries were.
// 3. The procedure is a pure function of the batch and the reducer, so every replica (client or
//    coordinator) that applies the same batch over the same pages rejects the same mutations.
//
// Why: a reducer may turn a batch into multi-row statements, so writes of different mutations can
// not be told apart after the fact. The whole batch runs in one savepoint; if mutation k is
// rejected, that run is rolled back and the batch is split around k: the prefix (which never saw
// k) is applied again, k alone, then the rest. A trap says nothing about which mutation caused it,
// so after a trap every mutation of that run is applied alone.

import type { MutationEnvelope, Outcome } from './reducer/host.js';

export type ReduceResult =
  | { readonly trapped: false; readonly outcomes: readonly Outcome[] }
  | { readonly trapped: true; readonly reason: string };

/** What the procedure needs from a replica: a reducer call and nestable savepoints. */
export interface BatchTarget {
  reduce(batch: readonly MutationEnvelope[]): ReduceResult;
  savepoint(): void;
  release(): void;
  rollback(): void;
}

export function applySequentially(target: BatchTarget, batch: readonly MutationEnvelope[]): Outcome[] {
  if (batch.length === 0) return [];
  if (batch.length === 1) return [applyOne(target, batch[0]!)];
  target.savepoint();
  const result = target.reduce(batch);
  if (result.trapped) {
    target.rollback();
    return batch.map((m) => applyOne(target, m));
  }
  const k = result.outcomes.findIndex((o) => !o.ok);
  if (k < 0) {
    target.release();
    return [...result.outcomes];
  }
  target.rollback();
  return [
    ...applySequentially(target, batch.slice(0, k)),
    applyOne(target, batch[k]!),
    ...applySequentially(target, batch.slice(k + 1)),
  ];
}

function applyOne(target: BatchTarget, mutation: MutationEnvelope): Outcome {
  target.savepoint();
  const result = target.reduce([mutation]);
  const outcome: Outcome = result.trapped
    ? { ok: false, reason: `reducer trapped: ${result.reason}` }
    : (result.outcomes[0] ?? { ok: false, reason: 'reducer returned no outcome' });
  if (outcome.ok) target.release();
  else target.rollback();
  return outcome;
}
