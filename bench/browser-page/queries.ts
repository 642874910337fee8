// The SQL both sides of a comparison run: the Tandem document's subscription and the floor's SELECT.
import type { SubscriptionShape } from '../src/browser-page-api.js';

/** The demo app's list query (reducers/todo/app/src/todos.ts). */
export const ALL_TODOS = 'SELECT id, title, completed FROM todos ORDER BY created_at, rowid';
export const ONE_TODO = 'SELECT id, title, completed FROM todos WHERE id = ?';

export function subscriptionSql(shape: SubscriptionShape): string {
  return shape === 'one' ? ONE_TODO : ALL_TODOS;
}

/** The todo toggled at step `i`: always the watched one for `one`, cycling through all for `list`. */
export function toggledId(shape: SubscriptionShape, i: number, todos: number): string {
  return shape === 'one' ? 't0' : `t${i % todos}`;
}

export const todoTitle = (i: number): string => `todo number ${i}`;
