// What the OPFS fixture page (e2e/fixtures/opfs-page) exposes to the test on `window`.

export type OpfsRequest =
  | { readonly action: 'store' }
  | {
      readonly action: 'document';
      readonly reducerUrl: string;
      readonly docId: string;
      readonly mutations: readonly unknown[];
    };

export interface OpfsReply {
  readonly hash?: string;
  readonly rows?: readonly Record<string, unknown>[];
  readonly replayed?: number;
  readonly warnings?: readonly string[];
  readonly store?: { readonly read: number[]; readonly missing: boolean; readonly names: string[] };
  readonly error?: string;
}

declare global {
  interface Window {
    opfsInWorker(request: OpfsRequest): Promise<OpfsReply>;
  }
}
