// What callers of a SyncClient wait on: the next time it goes live (`whenLive()`), and the coordinator's
// answers to `askHead()` (protocol v5's ask-head/head).
//
// Invariants:
// 1. Every wait settles exactly once: `live()` resolves every live waiter; `fail(error)` rejects every
//    live waiter and every unanswered ask with it (the client failed or was closed, C5).
// 2. An ask stays unanswered until a `head` carrying its id arrives; its id is never reused while it
//    waits (ids count up to 2^31, then wrap). `unanswered()` lists the ids to send again on each newly
//    welcomed session (S7): an answer dies with its session.
// 3. A `head` for an id no ask holds (answered already, or never asked) changes nothing.

/** The coordinator's answer to `askHead()`: its history, and the lsn its next frame will carry. */
export interface HeadAnswer {
  readonly journalId: string;
  readonly head: number;
}

interface Waiter<T> {
  readonly resolve: (value: T) => void;
  readonly reject: (error: Error) => void;
}

export class SyncWaits {
  #live: Waiter<void>[] = [];
  readonly #asks = new Map<number, Waiter<HeadAnswer>>();
  #nextAsk = 0;

  /** Resolves at the next `live()`, rejects at `fail()`. */
  whenLive(): Promise<void> {
    return new Promise((resolve, reject) => this.#live.push({ resolve, reject }));
  }

  /** A new ask: its id (for the `ask-head` message) and the answer, settled by `answer` or `fail`. */
  ask(): { readonly id: number; readonly answer: Promise<HeadAnswer> } {
    const id = this.#nextAsk;
    this.#nextAsk = (this.#nextAsk + 1) % 2 ** 31;
    const answer = new Promise<HeadAnswer>((resolve, reject) => this.#asks.set(id, { resolve, reject }));
    return { id, answer };
  }

  /** The ids of the asks still waiting, to send again on a new session (invariant 2). */
  unanswered(): IterableIterator<number> {
    return this.#asks.keys();
  }

  /** Settles the ask `id` with the coordinator's `head` (invariant 3). */
  answer(id: number, head: HeadAnswer): void {
    const ask = this.#asks.get(id);
    this.#asks.delete(id);
    ask?.resolve(head);
  }

  live(): void {
    for (const { resolve } of this.#live.splice(0)) resolve();
  }

  fail(error: Error): void {
    for (const { reject } of this.#live.splice(0)) reject(error);
    for (const { reject } of this.#asks.values()) reject(error);
    this.#asks.clear();
  }
}
