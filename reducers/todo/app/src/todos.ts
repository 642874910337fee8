// The todo reducer's table and mutations as the app uses them (reducers/todo/assembly/index.ts).

export type Todo = { readonly id: string; readonly title: string; readonly completed: number };

/** Every todo in creation order: `created_at` is the creating mutation's timestamp, ties by insertion. */
export const ALL_TODOS = 'SELECT id, title, completed FROM todos ORDER BY created_at, rowid';

export type TodoMutation =
  | { readonly type: 'create'; readonly id: string; readonly title: string }
  | { readonly type: 'rename'; readonly id: string; readonly title: string }
  | { readonly type: 'toggle'; readonly id: string }
  | { readonly type: 'delete'; readonly id: string }
  | { readonly type: 'clearCompleted' };

export const create = (title: string): TodoMutation => ({ type: 'create', id: crypto.randomUUID(), title });
export const rename = (id: string, title: string): TodoMutation => ({ type: 'rename', id, title });
export const toggle = (id: string): TodoMutation => ({ type: 'toggle', id });
export const remove = (id: string): TodoMutation => ({ type: 'delete', id });
export const clearCompleted = (): TodoMutation => ({ type: 'clearCompleted' });

/**
 * "Mark all as complete" (or all as active): the reducer flips one todo at a time, so this flips those
 * not yet in the wanted state, in one batch.
 */
export function toggleAll(todos: readonly Todo[], completed: boolean): TodoMutation[] {
  return todos.filter((todo) => (todo.completed === 1) !== completed).map((todo) => toggle(todo.id));
}
