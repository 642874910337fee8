// Which coordinator a SyncClient connects to next, among the URLs it was given (coordinators sharing
// one store, any of which accepts any client) and the redirects they answer with (protocol v6).
//
// Invariants:
// L1. `current` is one of the given URLs, or the target of the redirect being followed.
// L2. A redirect is followed at once, at most MAX_REDIRECT_HOPS times in a row without a welcome: the
//     next one is refused (a `redirect-loop` drop) and the client goes on to the list's next URL, with
//     backoff, as after any failure. Coordinators whose lease rows disagree for a moment (one just
//     restarted, a lease changing hands) cannot keep a client bouncing between them.
// L3. Any other end of a connection that did not hand the document over (refused, died, timed out) moves
//     to the list's next URL: a dead coordinator is not asked again before every other one was.
// L4. A welcome ends the chain of redirects: the hop count starts again at 0.
// L5. A redirect never lowers the transport's security: from a wss:// URL, one to ws:// is refused (the
//     hello it would send carries the client's token and timeline secret) and counts as a failure (L3).
// The backoff itself stays the SyncClient's (it grows with each failure, whichever URL failed).

export const MAX_REDIRECT_HOPS = 4;

export class CoordinatorList {
  readonly #urls: readonly string[];
  #index = 0;
  /** The redirect being followed (L1), until the connection to it ends. */
  #redirect: string | undefined;
  #hops = 0;

  constructor(urls: string | readonly string[]) {
    this.#urls = typeof urls === 'string' ? [urls] : [...urls];
    if (this.#urls.length === 0) throw new RangeError('a sync client needs at least one coordinator URL');
  }

  /** Where the next connection goes (L1). */
  get current(): string {
    return this.#redirect ?? this.#urls[this.#index]!;
  }

  /** Redirects followed since the last welcome or failure. */
  get hops(): number {
    return this.#hops;
  }

  /**
   * The coordinator sent the client to `url`: `followed` when it goes there now, `loop` past
   * MAX_REDIRECT_HOPS in a row (L2), `insecure` for a move from wss:// to anything else (L5).
   */
  redirected(url: string): 'followed' | 'loop' | 'insecure' {
    if (this.current.startsWith('wss:') && !url.startsWith('wss:')) {
      this.failed();
      return 'insecure';
    }
    if (this.#hops >= MAX_REDIRECT_HOPS) {
      this.failed();
      return 'loop';
    }
    this.#hops++;
    this.#redirect = url;
    return 'followed';
  }

  /** The connection to `current` ended without being welcomed, or a welcomed one dropped (L3). */
  failed(): void {
    this.#redirect = undefined;
    this.#hops = 0;
    this.#index = (this.#index + 1) % this.#urls.length;
  }

  /** `current` welcomed the client (L4). */
  welcomed(): void {
    this.#hops = 0;
  }
}
