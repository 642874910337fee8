// Applies a batch of mutations with the semantics of applying them one at a time, each in its own
// savepoint, while calling the reducer once for the whole batch in the common case.
//
// Invariants:
// 1. A mutation that is rejected, or whose reduce traps, leaves no writes.
// 2. The outcome of each mutation is the one it gets when applied after exactly the accepted
//    mutations before it (sequential semantics), whatever the batch boundaries were.
// 3. The procedure is a pure function of the batch and the reducer, so every replica (client or
//    coordinator) that applies the same batch over the same pages rejects the same mutations.
// 4. A mutation is rejected for a limit (fuel, SQL steps, memory), or for a statement SQLite aborted,
//    only by a verdict run: alone, in a fresh instance, with the full budgets (limits.ts invariant 1).
//    Its reason is exactly the limit's, or SQLite's (`transaction aborted by sqlite: …`).
// 5. SQLite may end the whole transaction on its own (an interrupted or failed write, RAISE(ROLLBACK),
//    ON CONFLICT ROLLBACK): every savepoint and every earlier write of the batch is gone. The target
//    then begins the transaction again, the mutations accepted so far are applied again (by this same
//    procedure), and the run that lost it is handled like a trap, so that only the mutation that
//    did it is rejected, and every host rejects the same one whatever its batches were.
//
// Why: a reducer may turn a batch into multi-row statements, so the writes of different mutations
// cannot be told apart after the fact. So a run of mutations goes to the reducer in one call inside
// one savepoint. If mutation k of the run is rejected, the run is rolled back, its accepted prefix
// (which never saw k) runs again, then k alone in its own savepoint. A trap says nothing about which
// mutation caused it, so a trapping run is halved until the trapping mutation runs alone.
// Run lengths adapt: they double after a clean run and shrink to the distance between rejections,
// so a batch costs one call when nothing is rejected and stays linear when many are.
// A run before which the transaction keeps nothing (no mutation accepted yet: a lone mutation, the
// first run of a batch) takes no savepoint: undoing it is rolling the transaction back and beginning it
// again (`abandon`), which leaves the same pages. So the common case, an awaited mutation alone in its
// transaction, pays for no savepoint and SQLite writes no statement journal for it.

import type { MutationEnvelope, Outcome } from './reducer/host.js';
import { LIMIT_REASONS, type LimitKind } from './reducer/limits.js';

export type ReduceResult =
  | { readonly trapped: false; readonly outcomes: readonly Outcome[] }
  | {
      readonly trapped: true;
      readonly reason: string;
      readonly limit?: LimitKind | undefined;
      /** SQLite aborted a statement of the run: `reason` is the rejection reason, decided like a limit's. */
      readonly aborted?: boolean;
      /** SQLite ended the transaction: no savepoint is left, and the batch's writes are gone. */
      readonly transactionLost?: boolean;
    };

/**
 * What the procedure needs from a replica: a reducer call, nestable savepoints and a way to start its
 * transaction over. `applySequentially` runs at the start of a transaction (nothing written in it yet).
 */
export interface BatchTarget {
  /** With `verdict`, the batch (of one) runs in a fresh instance with the full budgets. */
  reduce(batch: readonly MutationEnvelope[], verdict: boolean): ReduceResult;
  savepoint(): void;
  release(): void;
  rollback(): void;
  /** Begins the batch's transaction again after SQLite ended it (`transactionLost`): no savepoint is open. */
  restart(): void;
  /** Rolls the transaction back (no savepoint is open) and begins it again. */
  abandon(): void;
}

export function applySequentially(target: BatchTarget, batch: readonly MutationEnvelope[]): Outcome[] {
  const outcomes: Outcome[] = [];
  /** Mutations whose run alone lost the transaction: they run next as a verdict run. */
  const verdictAt = new Set<number>();
  let i = 0;
  let runLength = batch.length;
  let aloneAt = -1;
  /** Whether the transaction keeps a mutation's writes: until then a run needs no savepoint. */
  let keeps = false;
  while (i < batch.length) {
    const length = Math.min(runLength, batch.length - i);
    const guard = keeps ? savepoints : bare;
    if (i === aloneAt || length === 1 || verdictAt.has(i)) {
      const { outcome, lost } = applyOne(target, guard, batch[i]!, verdictAt.has(i));
      if (lost) restart(target, batch, outcomes);
      if (outcome === undefined) {
        verdictAt.add(i);
        continue;
      }
      outcomes.push(outcome);
      keeps ||= outcome.ok;
      i++;
      continue;
    }
    guard.open(target);
    const result = target.reduce(batch.slice(i, i + length), false);
    if (result.trapped) {
      if (result.transactionLost) restart(target, batch, outcomes);
      else guard.undo(target);
      runLength = Math.ceil(length / 2);
      continue;
    }
    const k = result.outcomes.findIndex((o) => !o.ok);
    if (k < 0) {
      guard.keep(target);
      outcomes.push(...result.outcomes);
      keeps = true;
      i += length;
      runLength = length * 2;
      continue;
    }
    guard.undo(target);
    aloneAt = i + k;
    runLength = Math.max(1, k);
  }
  return outcomes;
}

/** How a run is made undoable: in a savepoint, or bare when the transaction keeps nothing yet. */
interface RunGuard {
  open(target: BatchTarget): void;
  keep(target: BatchTarget): void;
  undo(target: BatchTarget): void;
}

const savepoints: RunGuard = {
  open: (target) => target.savepoint(),
  keep: (target) => target.release(),
  undo: (target) => target.rollback(),
};

const bare: RunGuard = {
  open: () => {},
  keep: () => {},
  undo: (target) => target.abandon(),
};

/**
 * After SQLite ended the transaction: begins it again and applies again the mutations accepted so far
 * (invariant 5). Their outcomes are taken from this run, as after any other re-run.
 */
function restart(target: BatchTarget, batch: readonly MutationEnvelope[], outcomes: Outcome[]): void {
  target.restart();
  const accepted = outcomes.flatMap((o, i) => (o.ok ? [i] : []));
  const again = applySequentially(
    target,
    accepted.map((i) => batch[i]!),
  );
  again.forEach((outcome, k) => {
    outcomes[accepted[k]!] = outcome;
  });
}

/**
 * Applies one mutation in its own savepoint (or bare: see `RunGuard`). `lost`: SQLite ended the
 * transaction (the caller restarts it); then `outcome` is undefined if only a verdict run can decide
 * (invariant 4).
 */
function applyOne(
  target: BatchTarget,
  guard: RunGuard,
  mutation: MutationEnvelope,
  verdict: boolean,
): { readonly outcome: Outcome | undefined; readonly lost: boolean } {
  guard.open(target);
  let result = target.reduce([mutation], verdict);
  if (!verdict && result.trapped && (result.limit !== undefined || result.aborted === true)) {
    // Reached outside a verdict run, a limit says only that this mutation comes near it (invariant 4).
    if (result.transactionLost) return { outcome: undefined, lost: true };
    guard.undo(target);
    guard.open(target);
    result = target.reduce([mutation], true);
  }
  const outcome: Outcome = result.trapped
    ? { ok: false, reason: trapReason(result) }
    : (result.outcomes[0] ?? { ok: false, reason: 'reducer returned no outcome' });
  if (result.trapped && result.transactionLost) return { outcome, lost: true };
  if (outcome.ok) guard.keep(target);
  else guard.undo(target);
  return { outcome, lost: false };
}

function trapReason(result: Extract<ReduceResult, { trapped: true }>): string {
  if (result.limit !== undefined) return LIMIT_REASONS[result.limit];
  if (result.aborted === true) return result.reason;
  return `reducer trapped: ${result.reason}`;
}
