/** One mutation and its envelope, as the host delivers it. */
export class Mutation {
  constructor(
    /** The client timeline that wrote it. */
    public readonly timelineId: string,
    /** Its position in that timeline: 0, 1, 2, … */
    public readonly lsn: u64,
    /** When it was written, in milliseconds since the Unix epoch; `now()` returns the same. */
    public readonly timestamp: u64,
    /** The app's bytes. */
    public readonly payload: Uint8Array,
  ) {}

  /** The payload decoded as UTF-8, without validation (`json.parse` validates). */
  text(): string {
    return String.UTF8.decodeUnsafe(this.payload.dataStart, this.payload.byteLength);
  }
}

/** The one ok outcome: outcomes cannot change, so every `Outcome.ok()` can be this one. */
let OK: Outcome | null = null;

/** What a reducer says about one mutation (or a migration): applied, or rejected with a reason. */
export class Outcome {
  private constructor(public readonly reason: string | null) {}

  static ok(): Outcome {
    let ok = OK;
    if (ok == null) {
      ok = new Outcome(null);
      OK = ok;
    }
    return ok;
  }
  /** Rejects the mutation: the host rolls back whatever it wrote and reports `reason` to its client. */
  static reject(reason: string): Outcome {
    return new Outcome(reason);
  }

  get isOk(): bool {
    return this.reason == null;
  }
}
