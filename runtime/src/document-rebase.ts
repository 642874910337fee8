// A synced document taking the coordinator's frames (local-document.ts invariant 6): a burst into the
// base with the overlay of the pending mutations rebuilt over it, or, when the burst comes with the
// coordinator's newer reducer, a move to that reducer with it (reducer-move.ts).
//
// Invariants:
// 1. What reached the base is kept, even when a later frame of the burst was refused; the overlay is
//    brought to the schema and marked for rebuilding whatever happened, so a rebase that fails part-way
//    never leaves the document without its unconfirmed writes.
// 2. The overlay is reduced again at once only when something will read it at once (a subscription
//    watches, or nothing is pending); otherwise on its first read (local-document.ts invariant 12).
// 3. After each rebase or move the base's marker is settled (taken-mutations.ts), and then `rebased`
//    tells the status, the waits and the subscriptions.
import type { Burst, DocumentBase } from './document-base.js';
import type { LazyOverlay } from './lazy-overlay.js';
import type { PendingOverlay } from './pending-overlay.js';
import type { ReducerModule } from './reducer/host.js';
import type { ReducerMove } from './reducer-move.js';
import type { Replica } from './replica.js';
import type { TakenMutations } from './taken-mutations.js';

/** What of the document a rebase goes through. */
export interface RebaseParts {
  readonly replica: Replica;
  readonly base: DocumentBase;
  /** Brings the overlay to the reducer's schema over the base (the host's `prepareOverlay`). */
  readonly prepareOverlay: (() => void) | undefined;
  readonly taken: TakenMutations;
  readonly pending: PendingOverlay;
  readonly overlay: LazyOverlay;
  readonly upgrades: ReducerMove;
  /** Whether a subscription watches the document. */
  readonly watched: () => boolean;
  /** The base or the overlay changed (invariant 3). */
  readonly rebased: () => void;
}

export class DocumentRebase {
  readonly #parts: RebaseParts;

  constructor(parts: RebaseParts) {
    this.#parts = parts;
  }

  /** Takes `update` into the base, or moves to its reducer with it (invariants 1–3). */
  rebase(update: Burst): void {
    if (update.reducer !== undefined) {
      this.#moveWith(update.reducer, update);
      return;
    }
    const { replica, base, prepareOverlay, taken, pending, overlay, watched, rebased } = this.#parts;
    replica.discardOverlay();
    let prepared = false;
    try {
      base.take(update);
      prepareOverlay?.();
      prepared = true;
      taken.settle();
    } finally {
      if (!prepared) prepareOverlay?.();
      overlay.dropped(pending.count === 0 || watched());
      rebased();
    }
  }

  /** A move held over a base whose marker for this timeline is `applied`: settle what it covers. */
  moved(applied: number): void {
    const { base, taken, pending, overlay, rebased } = this.#parts;
    base.markerIs(applied);
    taken.settle();
    if (pending.dropped()) overlay.queueSave();
    rebased();
  }

  /** Moves the document to `module` with the burst that catches its base up (reducer-move.ts). */
  #moveWith(module: ReducerModule, burst: Burst): void {
    const staged = this.#parts.base.staged(burst);
    this.#parts.upgrades.move(module, {
      apply: staged.apply,
      undo: staged.undo,
      moved: (applied) => {
        staged.record();
        this.moved(applied);
      },
    });
  }
}
