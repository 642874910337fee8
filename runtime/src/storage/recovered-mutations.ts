// The pending mutations a recovery read from the timeline, kept as its records (entry-list.ts) and
// decoded into envelopes only when something needs them: the first query after an open needs the
// pages and the overlay, not each mutation's envelope; a push, a rebase or a replay asks for them later.
//
// Invariants:
// 1. Every record was checked when the list was made (`read`): its envelope decodes (timeline-codec.ts)
//    and carries the lsn its entry does. A damaged or malformed record stops the open there, as an
//    eager decode would; decoding later cannot fail.
// 2. A list is a run of the recovered entries, in lsn order; `above` takes a suffix of it.
import type { MutationEnvelope } from '../reducer/host.js';
import { checkMutation, decodeMutation, TimelineCodecError } from '../timeline-codec.js';
import type { EntryList } from './entry-list.js';

export class RecoveredMutations {
  readonly #entries: EntryList;
  readonly #from: number;
  /** The timeline ids the records carry (a replica's timeline has one). */
  readonly timelineIds: ReadonlySet<string>;

  private constructor(entries: EntryList, from: number, timelineIds: ReadonlySet<string>) {
    this.#entries = entries;
    this.#from = from;
    this.timelineIds = timelineIds;
  }

  /** Checks every entry (invariant 1); throws a TimelineCodecError for the first one that fails. */
  static read(entries: EntryList): RecoveredMutations {
    const timelineIds = new Set<string>();
    for (let i = 0; i < entries.length; i++) {
      const checked = checkMutation(entries.bytes(i), entries.start(i), entries.end(i));
      if (checked.lsn !== entries.lsn(i)) {
        throw new TimelineCodecError(
          'out-of-range',
          `timeline entry ${entries.lsn(i)} holds mutation ${checked.lsn}`,
        );
      }
      timelineIds.add(checked.timelineId);
    }
    return new RecoveredMutations(entries, 0, timelineIds);
  }

  get length(): number {
    return this.#entries.length - this.#from;
  }

  /** The lsn of the newest one, if any. */
  get lastLsn(): number | undefined {
    return this.length > 0 ? this.#entries.lsn(this.#entries.length - 1) : undefined;
  }

  /** Those whose lsn is above `lsn` (invariant 2). */
  above(lsn: number): RecoveredMutations {
    const from = Math.max(this.#from, this.#entries.firstAbove(lsn));
    return from === this.#from ? this : new RecoveredMutations(this.#entries, from, this.timelineIds);
  }

  /** Their envelopes, in lsn order; each payload a view of the bytes read. */
  decode(): MutationEnvelope[] {
    const entries = this.#entries;
    const envelopes: MutationEnvelope[] = [];
    for (let i = this.#from; i < entries.length; i++) {
      envelopes.push(decodeMutation(entries.bytes(i), entries.start(i), entries.end(i)));
    }
    return envelopes;
  }
}
