// A document's move to the coordinator's newer reducer (local-document.ts invariant 11; sync-client.ts
// S8): the schema version recorded first, then the swap, all or nothing.
//
// Invariants:
// 1. The new schema version is recorded durably (with the reducer's bytes beside it,
//    storage/schema-mark.ts) before the document can take a mutation under it; marks run one at a time
//    and a close waits for those in flight (`marking`).
// 2. A move is all or nothing: the base takes the burst (if any), the reducer is swapped, the overlay
//    brought to its schema and the pending mutations the base does not hold reduced again under it.
//    Anything thrown on the way puts back the base, the old reducer and an overlay of every pending
//    mutation over that base, and is rethrown as it was (a refused frame stays a refused frame, a failed
//    `migrate` a `migration-failed`), so the document works as before and a later move can succeed.
//    A move that did not hold also puts the mark back to what the old reducer runs (`unmarkSchema`,
//    storage/schema-mark.ts invariant 2): the mark never stands above what the document runs after it,
//    so the next offline open runs that reducer, not the failed move's one. It runs as marks do, one at
//    a time, and a close or an upgrade's rejection waits for it; when it cannot be written the document
//    fails (`storage-failed`), never silently left with a mark above what it runs.
// 3. Only once all of it held is the move kept (`site.moved`: the burst recorded, what the base's
//    marker covers settled) and told: `onUpgrade` listeners hear each move once; and its mark, which
//    recorded the move as one that may not hold (storage/schema-mark.ts invariant 6), is written again
//    without it (`holdSchema`; as marks do, one at a time; a failure fails the document, invariant 2).
//    No mutation is reduced under the new reducer before that is durable (`queue.holdUntil`): a mark that
//    still records its move then says that no mutation of the timeline needs the new reducer.
// 4. A mark raised for a move that never came (a session that ended between `readyUpgrade` and its
//    burst) is put back when the document closes (`abandon`), as after a move that did not hold: the
//    pages are still the old reducer's. A crash before leaves it to the next open (schema-mark.ts
//    invariant 6).
import type { LazyOverlay } from './lazy-overlay.js';
import type { MutationQueue } from './mutation-queue.js';
import { declaredSchemaVersion, type ReducerModule } from './reducer/host.js';
import { type ReducerUpgrade, ReducerUpgrades } from './reducer-upgrades.js';
import type { Replica } from './replica.js';
import type { ReducerIdentity } from './sync/negotiation.js';

/** What of the document a move goes through. */
export interface MoveParts {
  readonly replica: Replica;
  readonly overlay: LazyOverlay;
  /** Brings the overlay to the reducer's schema over the base (the host's `prepareOverlay`). */
  readonly prepare: (() => void) | undefined;
  /** This timeline's applied marker as the pages hold it (-1 for none). */
  readonly readAppliedLsn: (() => number) | undefined;
  /** The document runs `reducer` now: what is kept under the old one's name follows. */
  readonly reducerChanged: ((reducer: ReducerModule) => void) | undefined;
  readonly markSchema: ((schemaVersion: number, reducer: ReducerModule) => Promise<void>) | undefined;
  /** The move to `reducer` held: its mark no longer records it (invariant 3). */
  readonly holdSchema: ((reducer: ReducerModule) => Promise<void>) | undefined;
  /** The document runs `reducer` after a move that did not hold: the mark goes back to it (invariant 2). */
  readonly unmarkSchema: ((reducer: ReducerModule) => Promise<void>) | undefined;
  readonly identity: () => ReducerIdentity;
  /**
   * The document's write path: a mark that could not be put back or held fails it (invariant 2), and
   * it reduces nothing while a held move's mark is written (invariant 3).
   */
  readonly queue: Pick<MutationQueue, 'fail' | 'holdUntil'>;
}

/** The burst a move takes with it, and where the document keeps a move (invariant 3). */
export interface MoveSite {
  /** Puts the burst in the base (nothing recorded yet). */
  readonly apply?: () => void;
  /** Takes the base back to where it was before `apply`. */
  readonly undo?: () => void;
  /** The move held over a base whose marker for this timeline is `applied`: keep and tell it. */
  readonly moved: (applied: number) => void;
}

export class ReducerMove {
  readonly #parts: MoveParts;
  readonly #upgrades = new ReducerUpgrades();
  #marking: Promise<unknown> = Promise.resolve();
  /** A reducer marked for a move that has not come yet (invariant 4). */
  #readied: ReducerModule | undefined;

  constructor(parts: MoveParts) {
    this.#parts = parts;
  }

  /** The last move since the document opened. */
  get last(): ReducerUpgrade | undefined {
    return this.#upgrades.last;
  }

  /** The marks in flight, settled or not (invariant 1): a close waits for them. */
  get marking(): Promise<unknown> {
    return this.#marking;
  }

  listen(listener: (upgrade: ReducerUpgrade) => void): () => void {
    return this.#upgrades.listen(listener);
  }

  /** Records `module`'s schema version durably (invariant 1). */
  mark(module: ReducerModule): Promise<void> {
    const marked = (
      this.#parts.markSchema?.(declaredSchemaVersion(module), module) ?? Promise.resolve()
    ).then(() => {
      this.#readied = module;
    });
    this.#marking = Promise.all([this.#marking, marked.catch(() => undefined)]);
    return marked;
  }

  /**
   * The document closes: a mark raised for a move that never came goes back (invariant 4). Settles once
   * every mark is over.
   */
  async abandon(): Promise<void> {
    await this.#marking;
    if (this.#readied !== undefined) {
      this.#readied = undefined;
      await this.unmark(this.#parts.replica.reducerModule);
    }
    await this.#marking;
  }

  /**
   * Puts the mark back to the reducer the document runs, after a move that did not hold (invariant 2).
   * Never rejects: a mark it could not put back fails the document (`queue.fail`, as a failed write of its
   * timeline does), so nothing more is taken on top of a mark the next offline open would refuse.
   */
  unmark(module: ReducerModule): Promise<void> {
    const unmarked = (this.#parts.unmarkSchema?.(module) ?? Promise.resolve()).catch((error: unknown) => {
      this.#parts.queue.fail(error);
    });
    this.#marking = Promise.all([this.#marking, unmarked]);
    return unmarked;
  }

  /** The move to `module` held: its mark is written again without the move (invariant 3). */
  #hold(module: ReducerModule): void {
    const hold = this.#parts.holdSchema;
    if (hold === undefined) return;
    const held = hold(module).catch((error: unknown) => {
      this.#parts.queue.fail(error);
    });
    this.#parts.queue.holdUntil(held);
    this.#marking = Promise.all([this.#marking, held]);
  }

  /** Moves to `module` with `site`'s burst, all or nothing (invariants 2, 3). */
  move(module: ReducerModule, site: MoveSite): void {
    const { replica, overlay } = this.#parts;
    const from = this.#parts.identity();
    const previous = replica.reducerModule;
    let applied: number;
    replica.discardOverlay();
    try {
      replica.useReducer(module);
      site.apply?.();
      this.#parts.prepare?.();
      applied = this.#parts.readAppliedLsn?.() ?? -1;
      // Every pending mutation the base does not hold is reduced here: none is left to a later replay.
      overlay.replayAbove(applied);
    } catch (error) {
      this.#readied = undefined;
      replica.discardOverlay();
      site.undo?.();
      replica.useReducer(previous);
      overlay.rebuild();
      void this.unmark(previous);
      throw error;
    }
    this.#readied = undefined;
    this.#parts.reducerChanged?.(module);
    site.moved(applied);
    this.#hold(module);
    this.#upgrades.moved({ from, to: this.#parts.identity() });
  }
}
