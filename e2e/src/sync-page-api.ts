// What the sync fixture page (e2e/fixtures/sync-page) exposes to the test on `window`.

export interface SyncRequest {
  readonly reducerUrl: string;
  readonly coordinatorUrl: string;
  readonly docId: string;
  readonly mutations: readonly unknown[];
  /** The worker answers once its document holds this many todos (the other clients' included). */
  readonly expectRows: number;
}

export interface SyncReply {
  readonly hash?: string;
  readonly rows?: readonly Record<string, unknown>[];
  readonly fates?: readonly string[];
  readonly error?: string;
}

declare global {
  interface Window {
    syncInWorker(request: SyncRequest): Promise<SyncReply>;
  }
}
