// What the OPFS lock fixture page (e2e/fixtures/opfs-lock-page) exposes to the test on `window`:
// dedicated workers, each named by the test, that open documents kept in OPFS and keep them open.

export type OpfsLockRequest =
  | { readonly op: 'open'; readonly reducerUrl: string; readonly docId: string }
  | { readonly op: 'mutate'; readonly mutation: unknown }
  | { readonly op: 'rows' }
  | { readonly op: 'close' };

export interface OpfsLockReply {
  /** `opened`, `done`, or `refused` (the open threw: its error's kind, name and message). */
  readonly outcome: 'opened' | 'done' | 'refused';
  readonly kind?: string;
  readonly name?: string;
  readonly message?: string;
  readonly rows?: readonly Record<string, unknown>[];
}

declare global {
  interface Window {
    /** Sends a request to the worker `worker` (started on first use). */
    lockWorker(worker: string, request: OpfsLockRequest): Promise<OpfsLockReply>;
    /** Ends the worker `worker` without closing what it opened (as a crashed tab would). */
    terminateWorker(worker: string): void;
  }
}
