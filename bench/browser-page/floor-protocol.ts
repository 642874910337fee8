// Messages between the bench page and its floor worker (raw sqlite-wasm, no Tandem).
import type { SubscriptionShape } from '../src/browser-page-api.js';

export type ToFloor =
  /** Load sqlite-wasm and fill a todos table in an in-memory database. */
  | { readonly type: 'start'; readonly todos: number }
  /** The toggle as an UPDATE, then the subscription's SELECT: the rows come back. */
  | { readonly type: 'toggle'; readonly shape: SubscriptionShape; readonly id: string }
  /** Load sqlite-wasm as the runtime does and answer a query on an empty in-memory database. */
  | { readonly type: 'open-empty' };

export type FromFloor =
  | { readonly type: 'started' }
  | { readonly type: 'rows'; readonly rows: readonly Record<string, unknown>[] }
  | { readonly type: 'failed'; readonly message: string };
