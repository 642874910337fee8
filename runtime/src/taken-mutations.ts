// What the coordinator took of this client's timeline: every lsn up to `through` is in its frames,
// confirmed or rejected by its reducer. A document learns it from a push's answer (`pushed`) and from
// its base's applied marker once a rebase or a move brought the coordinator's frames (`settle`).
//
// Invariants:
// 1. `through` only grows, and what waits on the coordinator hears each advance (coordinator-waits.ts).
// 2. A settle tells the lsns the marker newly covers with the reasons the pages record for those the
//    coordinator rejected, as a push's answer would, then drops what the marker covers from the pending
//    mutations and the local verdicts, and lets the timeline drop it (timeline-housekeeping.ts).
import type { CoordinatorWaits } from './coordinator-waits.js';
import type { DocumentBase } from './document-base.js';
import type { PendingOverlay } from './pending-overlay.js';
import type { RejectedMutations } from './rejected-mutations.js';
import type { TimelineHousekeeping } from './timeline-housekeeping.js';

/** A mutation the coordinator's reducer rejected, and why. */
export interface TakenRejection {
  readonly lsn: number;
  readonly reason: string;
}

/** What of the document a settle reads and changes. */
export interface TakenParts {
  readonly base: DocumentBase;
  readonly pending: PendingOverlay;
  readonly rejected: RejectedMutations;
  readonly housekeeping: TimelineHousekeeping;
  readonly waits: CoordinatorWaits;
  /** The document's status may have changed. */
  readonly changed: () => void;
}

export class TakenMutations {
  readonly #parts: TakenParts;
  #through: number;

  /** `through`: what the base's marker covered as the document opened. */
  constructor(parts: TakenParts, through: number) {
    this.#parts = parts;
    this.#through = through;
  }

  /** Every lsn up to it was taken by the coordinator. */
  get through(): number {
    return this.#through;
  }

  /** Settles what the base's applied marker says the coordinator took (invariant 2). */
  settle(): void {
    const { base, pending, rejected, housekeeping } = this.#parts;
    const applied = base.marker(pending.count === 0);
    if (applied > this.#through) {
      const reasons = rejected.recorded(this.#through + 1, applied);
      this.pushed(
        applied,
        [...reasons].map(([lsn, reason]) => ({ lsn, reason })),
      );
    }
    pending.dropTaken(applied);
    rejected.dropTaken(applied);
    housekeeping.taken(applied);
  }

  /** The coordinator took this timeline up to `appliedLsn`, rejecting `rejections`: settle those fates. */
  pushed(appliedLsn: number, rejections: readonly TakenRejection[]): void {
    const { pending, rejected, waits, changed } = this.#parts;
    rejected.taken(appliedLsn, rejections, (lsn) => pending.payloadOf(lsn));
    this.#through = Math.max(this.#through, appliedLsn);
    changed();
    waits.taken(appliedLsn);
  }
}
