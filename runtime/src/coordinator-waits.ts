// What waits on the coordinator: each mutation's fate (`fate`), and the next rebase (`synced`,
// `caughtUp` wait for it, then look again).
//
// Invariants:
// 1. One promise per lsn: every `fate(lsn)` made before it settles is the same promise.
// 2. Nothing waits forever: a fate settles once the coordinator took its lsn (`taken`) or rejects at
//    `stop`; whoever waits for a rebase wakes at the next one or at `stop`, and then sees why.
import type { TandemError } from './errors.js';

/** What the coordinator made of a mutation: taken into a frame, or rejected by its reducer. */
export type MutationFate =
  | { readonly lsn: number; readonly status: 'confirmed' }
  | { readonly lsn: number; readonly status: 'rejected'; readonly reason: string };

interface Waiting {
  readonly promise: Promise<MutationFate>;
  readonly resolve: (fate: MutationFate) => void;
  readonly reject: (error: TandemError) => void;
}

export class CoordinatorWaits {
  readonly #fates = new Map<number, Waiting>();
  readonly #rebaseWaiters = new Set<() => void>();

  /** The fate of `lsn`, not taken yet: settles at `taken` or `stop` (invariant 1). */
  fate(lsn: number): Promise<MutationFate> {
    let entry = this.#fates.get(lsn);
    if (entry === undefined) {
      let resolve!: (fate: MutationFate) => void;
      let reject!: (error: TandemError) => void;
      const promise = new Promise<MutationFate>((ok, fail) => {
        resolve = ok;
        reject = fail;
      });
      entry = { promise, resolve, reject };
      this.#fates.set(lsn, entry);
    }
    return entry.promise;
  }

  /** The coordinator took every lsn through `appliedLsn`: each waiting fate settles as `fateOf` says. */
  taken(appliedLsn: number, fateOf: (lsn: number) => Promise<MutationFate>): void {
    for (const [lsn, entry] of this.#fates) {
      if (lsn > appliedLsn) continue;
      this.#fates.delete(lsn);
      fateOf(lsn).then(entry.resolve, entry.reject);
    }
  }

  /** Resolves after the next rebase, or once waiting stopped. */
  nextRebase(): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        this.#rebaseWaiters.delete(done);
        resolve();
      };
      this.#rebaseWaiters.add(done);
    });
  }

  /** A rebase happened: whoever waits for one wakes. */
  rebased(): void {
    for (const wake of [...this.#rebaseWaiters]) wake();
  }

  /** Rejects every waiting fate with `error` and wakes whoever waits for a rebase (invariant 2). */
  stop(error: TandemError): void {
    for (const [lsn, entry] of this.#fates) {
      this.#fates.delete(lsn);
      entry.reject(error);
    }
    this.rebased();
  }
}
