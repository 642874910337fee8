// Where and when a SyncClient connects next (its invariants C3 and C6): the coordinator its list names
// (coordinator-list.ts: redirects followed, failures moving down the list) and the one retry timer,
// with its backoff.
//
// Invariants:
// R1. At most one retry is armed: arming replaces the one armed, `cancel()` leaves none.
// R2. The delay grows with each failure, whichever coordinator failed (`backoffMs` · 2^attempt, capped
//     at `maxBackoffMs`, times a jitter in [0.5, 1)), and is at least what the coordinator asked
//     (`retryAfterMs`); a redirect followed goes at once and does not grow it; `reset()` (live, upgraded,
//     back online) forgets it.
// R3. A redirect refused (L2, L5 of coordinator-list.ts) is a failure like any other: the list moves on
//     and the retry waits its backoff.
import { CoordinatorList, type RedirectRefusal } from './coordinator-list.js';
import type { SyncOptions } from './sync-target.js';

export class Reconnects {
  readonly #list: CoordinatorList;
  readonly #options: Pick<SyncOptions, 'backoffMs' | 'maxBackoffMs' | 'random'>;
  readonly #connect: () => void;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #attempt = 0;
  #refused: RedirectRefusal | undefined;

  /** `connect` is what an armed retry runs when it fires. */
  constructor(
    options: Pick<SyncOptions, 'url' | 'redirectOrigins' | 'backoffMs' | 'maxBackoffMs' | 'random'>,
    connect: () => void,
  ) {
    this.#list = new CoordinatorList(options.url, options.redirectOrigins);
    this.#options = options;
    this.#connect = connect;
  }

  /** The coordinator's sync URL the current (or next) connection goes to. */
  get current(): string {
    return this.#list.current;
  }

  /** A retry is armed (R1). */
  get armed(): boolean {
    return this.#retry !== undefined;
  }

  /** Forgets the backoff (R2) and the last refusal. */
  reset(): void {
    this.#attempt = 0;
    this.#refused = undefined;
  }

  /** Disarms the retry (R1). */
  cancel(): void {
    clearTimeout(this.#retry);
    this.#retry = undefined;
  }

  /** Arms the retry: after the backoff and at least `minDelayMs`, or at once (`now`: a redirect followed). */
  arm(minDelayMs: number, now = false): void {
    const base = this.#options.backoffMs ?? 250;
    const max = this.#options.maxBackoffMs ?? 30_000;
    const jitter = 0.5 + (this.#options.random ?? Math.random)() / 2;
    const delay = now ? 0 : Math.max(minDelayMs, Math.min(max, base * 2 ** this.#attempt) * jitter);
    if (!now) this.#attempt = Math.min(this.#attempt + 1, 30);
    this.cancel();
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#connect();
    }, delay);
  }

  /** The connection to `current` ended without handing the document over: the list moves on (L3). */
  failed(): void {
    this.#list.failed();
  }

  /** `current` welcomed the client (L4). */
  welcomed(): void {
    this.#list.welcomed();
  }

  /** The last redirect refused (R3), until `reset()`: live again, upgraded or back online. */
  get refused(): RedirectRefusal | undefined {
    return this.#refused;
  }

  /**
   * The coordinator sent the client to `url` (saying `why`): followed at once, or refused as a failure
   * (R3). Returns why the connection ended, as the client reports it (`lastDrop`).
   */
  redirect(url: string, why: string): string {
    const refusal = this.#list.redirected(url);
    this.arm(0, refusal === undefined);
    if (refusal === undefined) return `redirected to ${url}: ${why}`;
    this.#refused = refusal;
    return `${refusal.kind}: ${refusal.message}; trying the next coordinator`;
  }
}
