// A local document's background storage work, one piece after another: overlay saves (lazy-overlay.ts)
// and cutting the timeline below what the coordinator took.
//
// Invariants:
// 1. Work runs in the order it was queued, never two pieces at once; a close waits for all of it
//    queued so far.
// 2. The timeline is cut below an lsn only once the base holding the marker that covers it is durable:
//    a crash never leaves a base whose marker is older than the timeline's cut, or the next lsns would
//    repeat taken ones. It is emptied only with the base in place and a reach record saying how far it
//    went. A cut that fails fails the timeline (`fail`): nothing more is accepted.
import type { ClientBase } from './storage/client-base.js';
import type { DocumentJournal } from './storage/document-journal.js';

/** What of the document the housekeeping touches. */
export interface HousekeepingParts {
  readonly journal: DocumentJournal | undefined;
  /** The persisted base, if any (its `flushed` makes the marker durable). */
  readonly keeper: ClientBase | undefined;
  /** Records how far the timeline went, before it is emptied. */
  readonly recordReach: ((nextLsn: number) => Promise<void>) | undefined;
  /** The timeline failed. */
  readonly fail: (error: unknown) => void;
}

export class TimelineHousekeeping {
  readonly #parts: HousekeepingParts;
  #work: Promise<void> = Promise.resolve();

  constructor(parts: HousekeepingParts) {
    this.#parts = parts;
  }

  /** Runs `work` after everything queued before it (invariant 1). */
  queue(work: () => Promise<void>): void {
    this.#work = this.#work.then(work);
  }

  /** At close: once the work queued so far has ended, the base writes what it holds. */
  async close(): Promise<void> {
    await this.#work;
    await this.#parts.keeper?.close().catch(() => undefined);
  }

  /** Records that the timeline holds every lsn below `nextLsn` (a clean close). */
  async recordReach(nextLsn: number): Promise<void> {
    await this.#parts.recordReach?.(nextLsn).catch(() => undefined);
  }

  /** The coordinator took every lsn up to `applied`: the timeline no longer needs them (invariant 2). */
  taken(applied: number): void {
    const { journal, keeper, recordReach, fail } = this.#parts;
    // Most confirmations cut nothing (segments go whole): the base is then not synced for them.
    const emptied = keeper !== undefined && recordReach !== undefined;
    if (journal === undefined || applied < 0 || !journal.truncatesTimeline(applied + 1, emptied)) return;
    // Taken mutations live in the coordinator's frames now, and a reopen should not read them (even
    // after an unclean exit, which writes no reach at close).
    this.#work = this.#work
      .then(() => keeper?.flushed())
      .then(() => journal.truncateTimeline(applied + 1, keeper && recordReach))
      .catch(fail);
  }
}
