// A local document's pending mutations and the overlay the replica holds of them, with its persisted
// copy (storage/overlay-cache.ts).
//
// Invariants:
// 1. `mutations` are this timeline's mutations the coordinator has not taken, in lsn order; whenever
//    the document reads it, the replica's overlay is exactly them reduced in that order (after the
//    schema's preparation). A
//    mutation joins once reduced (`added`), all of them are reduced again over a new base (`dropped`,
//    then `replayAll` when the document needs the overlay: local-document.ts invariant 12), and they
//    leave only once the base's applied marker covers them (`dropTaken`).
// 2. A replay runs in batches of REPLAY_BATCH: one reduce call and one transaction each, bounded.
//    Each run's verdicts replace the earlier ones (rejected-mutations.ts).
// 3. The persisted overlay is only a cache of the overlay: it is saved from the document at rest, and
//    only once every mutation it holds is durable in the timeline (through `durableThrough`), so a
//    crash never leaves a cache holding a write the timeline lost. Opening reduces again only the
//    pending mutations after those it covers; nothing leaves the timeline because of it.
// 4. Once OVERLAY_SAVE_AFTER pending mutations (and at least half of them) are not in the persisted
//    overlay, a save is due, so a crash costs at most that replay; a clean close saves it whatever the
//    count.
// 5. The mutations recovered at open come before every later one and are decoded from the timeline's
//    records (storage/recovered-mutations.ts) only when something needs their envelopes: a replay, a
//    push, a save, the rejections. An open whose persisted overlay holds them all decodes none before
//    the first query.
import type { MutationEnvelope } from './reducer/host.js';
import type { RejectedMutations } from './rejected-mutations.js';
import type { Replica } from './replica.js';
import type { OverlayKeeper } from './storage/overlay-cache.js';
import type { RecoveredMutations } from './storage/recovered-mutations.js';

/** Replaying pending mutations in runs of this size bounds the work of one transaction. */
const REPLAY_BATCH = 1000;
/** A background save is due once this many pending mutations (and at least half) are not persisted. */
const OVERLAY_SAVE_AFTER = 2000;

/** What opening restored from the persisted overlay: the pending mutations through `throughLsn`. */
export interface RestoredOverlayState {
  readonly throughLsn: number;
  readonly rejections: readonly (readonly [number, string])[];
}

/** Where the document stands when its overlay is saved. */
export interface OverlayPlace {
  readonly base: { readonly journalId: string | null; readonly cursor: number };
  readonly appliedLsn: number;
}

export class PendingOverlay {
  /** The last lsn synced to the timeline (everything, without a journal). */
  durableThrough = -1;
  /** Recovered at open and not decoded yet: they come before `#mutations` (invariant 5). */
  #recovered: RecoveredMutations | undefined;
  #mutations: MutationEnvelope[] = [];
  readonly #replica: Replica;
  readonly #keeper: OverlayKeeper | undefined;
  readonly #verdicts: RejectedMutations;
  /** True while the persisted overlay is the replica's overlay as it is now. */
  #saved = false;
  /** Pending mutations the persisted overlay does not hold. */
  #uncached = 0;

  constructor(replica: Replica, keeper: OverlayKeeper | undefined, verdicts: RejectedMutations) {
    this.#replica = replica;
    this.#keeper = keeper;
    this.#verdicts = verdicts;
  }

  /** Reduced locally, not yet taken by the coordinator, in lsn order. */
  get mutations(): readonly MutationEnvelope[] {
    return this.#decoded();
  }

  get count(): number {
    return (this.#recovered?.length ?? 0) + this.#mutations.length;
  }

  /**
   * Opening: `recovered` are the timeline's mutations above the base's marker `applied`; the overlay
   * restored from the cache already holds those through `restored.throughLsn`, the others are reduced
   * again. Returns how many of them the reducer ran again, and whether a save is due.
   */
  open(
    recovered: RecoveredMutations | undefined,
    applied: number,
    restored: RestoredOverlayState | undefined,
  ): { readonly rerun: number; readonly saveDue: boolean } {
    this.durableThrough = recovered?.lastLsn ?? applied;
    for (const [lsn, reason] of restored?.rejections ?? []) this.#verdicts.ran(lsn, { ok: false, reason });
    const rerun = recovered?.above(restored?.throughLsn ?? -1).decode() ?? [];
    // Decoded for the replay: when that is all of them, they are the list.
    const whole = rerun.length === (recovered?.length ?? 0);
    this.#recovered = whole ? undefined : recovered;
    this.#mutations = whole ? rerun : [];
    this.#replay(rerun);
    this.#saved = restored !== undefined && rerun.length === 0;
    this.#uncached = rerun.length;
    return {
      rerun: rerun.length,
      saveDue: this.#keeper !== undefined && this.#uncached >= OVERLAY_SAVE_AFTER,
    };
  }

  /** `envelopes` were reduced into the overlay (invariant 1); true when a save is due. */
  added(envelopes: readonly MutationEnvelope[]): boolean {
    this.#mutations.push(...envelopes);
    return this.#changed(envelopes.length, false);
  }

  /** The timeline is synced through `lsn`. */
  durable(lsn: number): void {
    this.durableThrough = Math.max(this.durableThrough, lsn);
  }

  /**
   * The overlay was dropped for a new base: the persisted one no longer matches it; true when a save is
   * due. `replayAll` rebuilds it.
   */
  dropped(): boolean {
    return this.#changed(this.count, true);
  }

  /** Reduces every pending mutation again over the base (after `dropped`). */
  replayAll(): void {
    this.#replay(this.#decoded());
  }

  /**
   * Reduces again, over the base, the pending mutations above `applied` (the base's marker: it holds
   * the others), leaving the list as it is: `dropTaken` drops them once the caller keeps the new base.
   */
  replayAbove(applied: number): void {
    this.#replay(this.#decoded().filter((m) => m.lsn > applied));
  }

  /** Drops the mutations through `applied`: the base holds them now. */
  dropTaken(applied: number): void {
    const mutations = this.#decoded();
    const taken = mutations.findIndex((m) => m.lsn > applied);
    this.#mutations = taken < 0 ? [] : mutations.slice(taken);
  }

  /** Pending mutations after `lsn` that are durable in the timeline: only those may be pushed. */
  after(lsn: number): readonly MutationEnvelope[] {
    const mutations = this.#decoded();
    const first = mutations.findIndex((m) => m.lsn > lsn);
    if (first < 0) return [];
    const end = mutations.findIndex((m) => m.lsn > this.durableThrough);
    return mutations.slice(first, end < 0 ? undefined : Math.max(first, end));
  }

  payloadOf(lsn: number): Uint8Array | undefined {
    return this.#decoded().find((m) => m.lsn === lsn)?.payload;
  }

  payloads(): ReadonlyMap<number, Uint8Array> {
    return new Map(this.#decoded().map((m) => [m.lsn, m.payload]));
  }

  /** At close: the persisted overlay becomes the replica's, or goes when there is none. */
  async persist(place: OverlayPlace): Promise<void> {
    if (this.#keeper === undefined || this.#saved) return;
    if (this.count > 0 || this.#replica.store.hasOverlay) await this.save(place);
    else await this.#keeper.clear().catch(() => undefined);
  }

  /**
   * Saves the overlay as it is now (invariant 3): call it between two calls, so no transaction is
   * open. Does nothing while a pending mutation is not durable (a write lost in a crash would make the
   * cache a miss).
   */
  async save(place: OverlayPlace): Promise<void> {
    const keeper = this.#keeper;
    if (keeper === undefined) return;
    const mutations = this.#decoded();
    if ((mutations.at(-1)?.lsn ?? -1) > this.durableThrough) return;
    try {
      const saved = keeper.save({
        store: this.#replica.store,
        base: place.base,
        appliedLsn: place.appliedLsn,
        pending: mutations,
        rejections: this.#verdicts.local,
      });
      // Taken: what changes from now on is not in it.
      this.#uncached = 0;
      this.#saved = true;
      await saved;
    } catch {
      // Only a cache: the next open replays what it would have held.
      this.#saved = false;
      this.#uncached = this.count;
    }
  }

  /** Every pending mutation's envelope, the recovered ones decoded now if they were not (invariant 5). */
  #decoded(): MutationEnvelope[] {
    const recovered = this.#recovered;
    if (recovered !== undefined) {
      this.#recovered = undefined;
      this.#mutations = recovered.decode().concat(this.#mutations);
    }
    return this.#mutations;
  }

  #replay(mutations: readonly MutationEnvelope[]): void {
    for (let i = 0; i < mutations.length; i += REPLAY_BATCH) {
      const batch = mutations.slice(i, i + REPLAY_BATCH);
      const outcomes = this.#replica.applyBatch(batch);
      for (const [k, envelope] of batch.entries()) this.#verdicts.ran(envelope.lsn, outcomes[k]);
    }
  }

  /** `count` more pending mutations are not in the persisted overlay (none of them is, when `stale`). */
  #changed(count: number, stale: boolean): boolean {
    if (this.#keeper === undefined) return false;
    this.#saved = false;
    this.#uncached = stale ? this.count : this.#uncached + count;
    return this.#uncached >= Math.max(OVERLAY_SAVE_AFTER, this.count / 2);
  }
}
