// This client's rejected mutations: the coordinator's verdicts and the local reducer's, as
// `rejections()` lists them and the status carries them (document-status.ts RejectionList).
//
// Invariants:
// 1. The coordinator's verdict is final: once it rejected an lsn, that reason stands whatever the local
//    reducer says of it later. Its verdicts come from a push's answer, or from the rejections its
//    pages record (`readRecorded`), which keep only the last ones of the timeline.
// 2. The local reducer's verdicts are kept only for pending mutations: each run of a mutation (mutate,
//    a replay at open, a rebase) replaces its verdict, and `dropTaken` forgets those the coordinator took.
// 3. The payloads of the coordinator's rejections seen while their mutations were pending are kept, the
//    last REJECTED_PAYLOADS_KEPT of them, so a rejection listed after the mutation left the pending list
//    still shows what was mutated.
import { type Rejection, RejectionList } from './document-status.js';
import type { Outcome } from './reducer/host.js';

/** One of this client's mutations its reducer refused (`rejections()`). */
export interface RejectedMutation {
  readonly lsn: number;
  readonly reason: string;
  /** True once the coordinator decided (it will never apply); false for the local reducer's verdict. */
  readonly final: boolean;
  /** The mutation's bytes as `mutate` stored them, while this document holds them. */
  readonly payload?: Uint8Array;
  /** The payload read as JSON (what `mutate` was given, when that was a JSON value). */
  readonly mutation?: unknown;
}

/** The coordinator's reasons for this timeline's rejected mutations in [from, to], from the pages. */
export type RecordedRejections = (from: number, to: number) => ReadonlyMap<number, string>;

/** The payloads of this many of the coordinator's rejections are kept in memory for `rejections()`. */
const REJECTED_PAYLOADS_KEPT = 1000;

export class RejectedMutations {
  readonly #readRecorded: RecordedRejections | undefined;
  readonly #coordinator = new Map<number, string>();
  /** Payloads of the coordinator's rejections, seen before the pending mutations dropped them. */
  readonly #payloads = new Map<number, Uint8Array>();
  /** The local reducer's rejections among the pending mutations (the persisted overlay records them). */
  readonly #local = new Map<number, string>();
  readonly #listed = new RejectionList();

  constructor(readRecorded: RecordedRejections | undefined) {
    this.#readRecorded = readRecorded;
  }

  /** The latest rejections for the status, newest last. */
  get status(): readonly Rejection[] {
    return this.#listed.list;
  }

  /** The local reducer's rejections among the pending mutations. */
  get local(): ReadonlyMap<number, string> {
    return this.#local;
  }

  /** The local reducer's verdict on a pending mutation (invariant 2). */
  ran(lsn: number, outcome: Outcome | undefined): void {
    this.#listed.ran(lsn, outcome);
    if (outcome?.ok === false) this.#local.set(lsn, outcome.reason);
    else this.#local.delete(lsn);
  }

  /**
   * The coordinator took every lsn through `appliedLsn`, rejecting `rejected`; `payloadOf` gives the
   * bytes of a mutation still pending.
   */
  taken(
    appliedLsn: number,
    rejected: readonly { readonly lsn: number; readonly reason: string }[],
    payloadOf: (lsn: number) => Uint8Array | undefined,
  ): void {
    for (const { lsn, reason } of rejected) {
      this.#coordinator.set(lsn, reason);
      const payload = payloadOf(lsn);
      if (payload === undefined) continue;
      this.#payloads.set(lsn, payload);
      if (this.#payloads.size > REJECTED_PAYLOADS_KEPT) {
        this.#payloads.delete(this.#payloads.keys().next().value!);
      }
    }
    this.#listed.taken(appliedLsn, rejected, (lsn) => this.reasonOf(lsn));
  }

  /** The local reducer's verdicts are of a base the document left: forgotten until it runs them again. */
  withdrawLocal(): void {
    this.#local.clear();
    this.#listed.withdrawProvisional();
  }

  /** Forgets the local verdicts on mutations through `applied`: the coordinator took them. */
  dropTaken(applied: number): void {
    for (const lsn of this.#local.keys()) if (lsn <= applied) this.#local.delete(lsn);
  }

  /** The rejections the coordinator's pages record in [from, to]. */
  recorded(from: number, to: number): ReadonlyMap<number, string> {
    return this.#readRecorded?.(from, to) ?? new Map<number, string>();
  }

  /** The coordinator's reason for rejecting a mutation it took, or undefined when it applied it. */
  reasonOf(lsn: number): string | undefined {
    return this.#coordinator.get(lsn) ?? this.#readRecorded?.(lsn, lsn).get(lsn);
  }

  /**
   * Every rejection known, in lsn order: the coordinator's through `takenThrough` (those its pages
   * record and those heard since the open), then the local verdicts it has not overruled; with the
   * payloads of `pending` or of the coordinator's rejections kept.
   */
  list(takenThrough: number, pending: ReadonlyMap<number, Uint8Array>): RejectedMutation[] {
    const found = new Map<number, { reason: string; final: boolean }>();
    const recorded = takenThrough >= 0 ? this.#readRecorded?.(0, takenThrough) : undefined;
    for (const [lsn, reason] of recorded ?? []) found.set(lsn, { reason, final: true });
    for (const [lsn, reason] of this.#coordinator) found.set(lsn, { reason, final: true });
    for (const [lsn, reason] of this.#local) {
      if (!found.has(lsn)) found.set(lsn, { reason, final: false });
    }
    return [...found]
      .sort(([a], [b]) => a - b)
      .map(([lsn, { reason, final }]) => {
        const payload = pending.get(lsn) ?? this.#payloads.get(lsn);
        if (payload === undefined) return { lsn, reason, final };
        const mutation = jsonOf(payload);
        return { lsn, reason, final, payload: payload.slice(), ...(mutation !== NOT_JSON && { mutation }) };
      });
  }
}

const NOT_JSON = Symbol('not JSON');
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** `payload` as the JSON value it encodes, or NOT_JSON (a mutation given as bytes). */
function jsonOf(payload: Uint8Array): unknown {
  try {
    return JSON.parse(strictUtf8.decode(payload));
  } catch {
    return NOT_JSON;
  }
}
