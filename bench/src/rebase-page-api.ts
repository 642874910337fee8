// What the Chromium rebase page (bench/rebase-page) takes and answers: the scenario of
// rebase-scenario.ts, its messages in base64 (page.evaluate carries JSON), and the timings taken in
// the page's worker with performance.now().

/** One pending mutation of the scenario: `tx.set(key, value)` as the kv reducer takes it. */
export interface Put {
  readonly op: 'put';
  readonly key: string;
  readonly value: string;
}

export interface RebaseInput {
  /** The prepared kv reducer, as /reducers/current names it. */
  readonly reducerUrl: string;
  readonly journalId: string;
  readonly baseMessages: readonly string[];
  readonly pending: readonly Put[];
  readonly bursts: readonly string[];
  /** The keys the floor's table starts with. */
  readonly basePuts: readonly Put[];
  /** Runs left out of the timings at the start. */
  readonly warmUp: number;
}

export type RebaseReply =
  | {
      readonly ours: readonly number[];
      readonly floor: readonly number[];
      /** What the rebased document holds, for the bench to check: k0's value and the row count. */
      readonly k0: unknown;
      readonly rows: unknown;
    }
  | { readonly error: string };

declare global {
  interface Window {
    rebaseBench: {
      run(input: RebaseInput): Promise<RebaseReply>;
      runInPage(input: RebaseInput): Promise<RebaseReply>;
    };
  }
}
