// What the reactive fixture page (e2e/fixtures/reactive-page) exposes to the test on `window`: calls
// into a document that lives in a dedicated worker, one request and one answer at a time.

export type ReactiveCall =
  | {
      readonly method: 'open';
      readonly reducerUrl: string;
      readonly coordinatorUrl: string;
      readonly docId: string;
    }
  /** Answers once the document caught up with the coordinator (sync state `live`). */
  | { readonly method: 'live' }
  /** Subscribes to `sql`; what its listener hears is kept for `heard`. */
  | { readonly method: 'subscribe'; readonly sql: string }
  | { readonly method: 'mutate'; readonly mutation: unknown }
  | { readonly method: 'synced' }
  /** Answers once `sql` (a count) returns `n`: another client's writes have arrived. */
  | { readonly method: 'waitForCount'; readonly sql: string; readonly n: number }
  /** The document's subscriptionRuns and every row set the listener heard, after pending passes ran. */
  | { readonly method: 'report' }
  | { readonly method: 'close' };

export interface ReactiveReport {
  readonly runs: number;
  readonly heard: readonly (readonly Record<string, unknown>[])[];
}

export type ReactiveAnswer =
  | { readonly ok: true; readonly value?: unknown }
  | { readonly ok: false; readonly error: string };

declare global {
  interface Window {
    reactiveCall(call: ReactiveCall): Promise<ReactiveAnswer>;
  }
}
