// Which coordinator a SyncClient connects to next, among the URLs it was given (coordinators sharing
// one store, any of which accepts any client) and the redirects they answer with (protocol v6).
//
// Invariants:
// L1. `current` is one of the given URLs, or the target of the redirect being followed.
// L2. A redirect is followed at once, at most MAX_REDIRECT_HOPS times in a row without a welcome (L4): the
//     next one is refused (`redirect-loop`) and the client goes on to the list's next URL, with backoff,
//     as after any failure. Coordinators whose lease rows disagree for a moment (one just restarted, a
//     lease changing hands) cannot keep a client bouncing between them.
// L3. Any other end of a connection that did not hand the document over (refused, died, timed out) moves
//     to the list's next URL: a dead coordinator is not asked again before every other one was. Except
//     the first such end at a redirect's target: the client goes back to the listed URL that redirected
//     (it answered, so it is alive, and a lease that changed hands sends it elsewhere now); a second one
//     from that position moves on down the list.
// L4. A welcome ends the chain of redirects for L3's return at once, and for L2's hop count once the
//     welcomed connection has lasted REDIRECT_SETTLE_MS: a redirect sooner after a welcome still counts
//     as a hop. Coordinators that welcome and then redirect at once (to each other, or one to itself)
//     would otherwise keep a client reconnecting without any delay for ever; a lease that changes
//     hands while the client is connected sends its redirect later than that, and it is followed.
// L5. A redirect never lowers the transport's security: from a wss:// URL, one to ws:// is refused
//     (`redirect-insecure`; the hello it would send carries the client's token and timeline secret).
// L6. A redirect goes only to an allowed origin: one of the given URLs' origins, or one the client was
//     told to trust (`redirectOrigins`); any other (or no URL at all) is refused (`redirect-refused`): a
//     coordinator is not trusted to hand the client's token and timeline secret to any host it names.
// L7. A refused redirect (L2, L5, L6) moves to the list's next URL (never back to the URL that sent it),
//     and names every URL of the chain it ended (`tried`).
// The backoff itself stays the SyncClient's (reconnects.ts: it grows with each failure, whichever URL
// failed).

export const MAX_REDIRECT_HOPS = 4;
/** How long a welcomed connection lasts before its welcome starts L2's hop count again (L4). */
export const REDIRECT_SETTLE_MS = 1000;

/** Why a redirect was not followed (L2, L5, L6): a closed set. */
export const REDIRECT_REFUSALS = ['redirect-loop', 'redirect-insecure', 'redirect-refused'] as const;
export type RedirectRefusalKind = (typeof REDIRECT_REFUSALS)[number];

/** A redirect the client did not follow, and the chain of URLs it ended (the list's URL first). */
export interface RedirectRefusal {
  readonly kind: RedirectRefusalKind;
  readonly message: string;
  /** The URLs this chain connected to, in order, then the refused one. */
  readonly tried: readonly string[];
}

/** `scheme://host[:port]` of a ws:/wss: URL (default ports dropped), or undefined for anything else. */
export function originOf(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') return undefined;
  return `${parsed.protocol}//${parsed.host}`;
}

export class CoordinatorList {
  readonly #urls: readonly string[];
  readonly #allowed: ReadonlySet<string>;
  #index = 0;
  /** The redirects being followed (L1), until the connection to the last one ends. */
  #chain: string[] = [];
  #hops = 0;
  /** A failure at a redirect's target went back to the URL that redirected (L3), since the last welcome. */
  #returned = false;
  /** When `current` welcomed the client, until the hop count starts again (L4). */
  #welcomedAt: number | undefined;
  readonly #now: () => number;

  /** `now` is a monotonic clock in milliseconds (L4's). */
  constructor(
    urls: string | readonly string[],
    redirectOrigins: readonly string[] = [],
    now: () => number = () => performance.now(),
  ) {
    this.#now = now;
    this.#urls = typeof urls === 'string' ? [urls] : [...urls];
    if (this.#urls.length === 0) throw new RangeError('a sync client needs at least one coordinator URL');
    const allowed = new Set<string>();
    for (const url of [...this.#urls, ...redirectOrigins]) {
      const origin = originOf(url);
      if (origin === undefined) throw new RangeError(`${JSON.stringify(url)} is not a ws: or wss: URL`);
      allowed.add(origin);
    }
    this.#allowed = allowed;
  }

  /** Where the next connection goes (L1). */
  get current(): string {
    return this.#chain.at(-1) ?? this.#urls[this.#index]!;
  }

  /** Redirects followed since the last welcome or failure. */
  get hops(): number {
    this.#settle();
    return this.#hops;
  }

  /**
   * The coordinator sent the client to `url`: undefined when it goes there now, else the refusal
   * (L2, L5, L6), after which `current` is the list's next URL (L7).
   */
  redirected(url: string): RedirectRefusal | undefined {
    this.#settle();
    const tried = [this.#urls[this.#index]!, ...this.#chain, url];
    const origin = originOf(url);
    let refusal: RedirectRefusal | undefined;
    if (this.current.startsWith('wss:') && !url.startsWith('wss:')) {
      refusal = {
        kind: 'redirect-insecure',
        message: `refused a redirect from a wss:// coordinator to ${url} (its hello would carry the token and timeline secret unencrypted)`,
        tried,
      };
    } else if (origin === undefined || !this.#allowed.has(origin)) {
      refusal = {
        kind: 'redirect-refused',
        message: `refused a redirect to ${url}: its origin is neither one of this client's coordinators nor in redirectOrigins`,
        tried,
      };
    } else if (this.#hops >= MAX_REDIRECT_HOPS) {
      refusal = {
        kind: 'redirect-loop',
        message: `more than ${MAX_REDIRECT_HOPS} redirects in a row without a welcome that lasted ${REDIRECT_SETTLE_MS} ms: ${tried.join(' → ')}`,
        tried,
      };
    }
    if (refusal !== undefined) {
      this.#next();
      return refusal;
    }
    this.#hops++;
    this.#chain.push(url);
    return undefined;
  }

  /** The connection to `current` ended without being welcomed, or a welcomed one dropped (L3). */
  failed(): void {
    if (this.#chain.length > 0 && !this.#returned) {
      this.#chain = [];
      this.#hops = 0;
      this.#returned = true;
      return;
    }
    this.#next();
  }

  /** `current` welcomed the client (L4). */
  welcomed(): void {
    this.#returned = false;
    this.#welcomedAt = this.#now();
  }

  /** The hop count starts again once a welcomed connection has lasted (L4). */
  #settle(): void {
    if (this.#welcomedAt !== undefined && this.#now() - this.#welcomedAt >= REDIRECT_SETTLE_MS) {
      this.#hops = 0;
      this.#welcomedAt = undefined;
    }
  }

  #next(): void {
    this.#chain = [];
    this.#hops = 0;
    this.#returned = false;
    this.#welcomedAt = undefined;
    this.#index = (this.#index + 1) % this.#urls.length;
  }
}
