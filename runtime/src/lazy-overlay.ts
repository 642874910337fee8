// The replica's overlay of the pending mutations as a rebase may leave it: stale, to be reduced again
// when something first reads or writes it (local-document.ts invariant 12), and its persisted copy
// (pending-overlay.ts, storage/overlay-cache.ts) saved in the background when due.
//
// Invariants:
// 1. While `stale`, the overlay holds the base's schema preparation but none of the pending mutations,
//    and the local reducer's verdicts are withdrawn (the status lists only the coordinator's): `ensure`
//    reduces every pending mutation again before anything reads the overlay, and the status hears it.
// 2. `rebuild` and `replayAbove` leave it fresh: every pending mutation they reduce is reduced once.
// 3. At most one background save is queued at a time; it runs after the document's earlier storage work
//    and once the timeline is synced, and saves only an overlay `ensure` could make whole (the persisted
//    overlay is only a cache: not saving it loses nothing).
import type { OverlayPlace, PendingOverlay } from './pending-overlay.js';
import type { RejectedMutations } from './rejected-mutations.js';

export interface LazyOverlayParts {
  readonly pending: PendingOverlay;
  readonly rejected: RejectedMutations;
  /** Brings the overlay to the reducer's schema over the base (the host's `prepareOverlay`). */
  readonly prepare: (() => void) | undefined;
  /** The overlay (and the verdicts) changed: the status and the subscriptions hear it. */
  readonly changed: () => void;
  readonly statusChanged: () => void;
  /** Queues `work` behind the document's storage work (housekeeping). */
  readonly housekeep: (work: () => Promise<void>) => void;
  /** True when a save may run now: the document is open and its timeline has not failed. */
  readonly savable: () => Promise<boolean>;
  readonly place: () => OverlayPlace;
}

export class LazyOverlay {
  readonly #parts: LazyOverlayParts;
  #stale = false;
  #saveQueued = false;

  constructor(parts: LazyOverlayParts) {
    this.#parts = parts;
  }

  /**
   * A rebase dropped the overlay and prepared the schema over the new base: the pending mutations are
   * reduced again now when `readNow` (someone reads at once), else when first needed (invariant 1).
   */
  dropped(readNow: boolean): void {
    if (this.#parts.pending.dropped()) this.queueSave();
    this.#stale = true;
    if (readNow) this.ensure();
    else this.#parts.rejected.withdrawLocal();
  }

  /** Reduces the pending mutations again if a rebase left the overlay without them (invariant 1). */
  ensure(): void {
    if (!this.#stale) return;
    this.#stale = false;
    this.#parts.pending.replayAll();
    // Its verdicts are the status's again.
    this.#parts.statusChanged();
  }

  /** The overlay as invariant 1 has it, for a save; false when rebuilding it failed (invariant 3). */
  ready(): boolean {
    try {
      this.ensure();
      return true;
    } catch {
      return false;
    }
  }

  /** Brings the overlay back over the base: the schema, then every pending mutation again (invariant 2). */
  rebuild(): void {
    this.#stale = false;
    try {
      this.#parts.prepare?.();
    } finally {
      const saveDue = this.#parts.pending.dropped();
      this.#parts.pending.replayAll();
      if (saveDue) this.queueSave();
      this.#parts.changed();
    }
  }

  /** Reduces the pending mutations above the base's marker `applied` over a prepared base (invariant 2). */
  replayAbove(applied: number): void {
    this.#stale = false;
    this.#parts.pending.replayAbove(applied);
  }

  /** Queues a background save of the persisted overlay (invariant 3). */
  queueSave(): void {
    if (this.#saveQueued) return;
    this.#saveQueued = true;
    this.#parts.housekeep(async () => {
      this.#saveQueued = false;
      if ((await this.#parts.savable()) && this.ready()) await this.#parts.pending.save(this.#parts.place());
    });
  }
}
