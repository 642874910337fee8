// The SQL both sides of the boot comparison run, and the rows they hold.
export const COUNT_TODOS = 'SELECT count(*) AS n FROM todos';
export const TODOS_TABLE =
  'CREATE TABLE todos (id TEXT PRIMARY KEY, title TEXT NOT NULL, completed INTEGER NOT NULL, created_at INTEGER NOT NULL)';
export const todo = (i: number) => ({ type: 'create', id: `t${i}`, title: `todo number ${i}` });

/** Messages between the boot page and its floor worker (raw sqlite-wasm, no Tandem). */
export type ToFloor =
  | { readonly type: 'write'; readonly name: string; readonly count: number }
  | { readonly type: 'open'; readonly name: string }
  | { readonly type: 'ping' };
export type FromFloor =
  | { readonly type: 'written' }
  | { readonly type: 'rows'; readonly n: number }
  | { readonly type: 'pong' }
  | { readonly type: 'failed'; readonly message: string };
