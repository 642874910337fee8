import fc from 'fast-check';

// A model of the todo reducer's rules, to predict each mutation's outcome and the final table.
export interface TodoRow {
  readonly id: string;
  readonly title: string;
  readonly completed: number;
  readonly created_at: number;
  readonly priority: number;
}

export type TodoMutation =
  | { readonly type: 'create'; readonly id: string; readonly title: string }
  | { readonly type: 'rename'; readonly id: string; readonly title: string }
  | { readonly type: 'toggle'; readonly id: string }
  | { readonly type: 'delete'; readonly id: string }
  | { readonly type: 'clearCompleted' };

const validTitle = (title: string) => title.length > 0 && title.length <= 200;

export class TodoModel {
  readonly rows = new Map<string, TodoRow>();

  /** Applies `m` if the reducer would accept it; returns whether it does. */
  apply(mutation: TodoMutation | Record<string, unknown>, timestamp: number): boolean {
    const m = mutation as Record<string, unknown>;
    const existing = typeof m.id === 'string' ? this.rows.get(m.id) : undefined;
    switch (m.type) {
      case 'create':
        if (typeof m.id !== 'string' || typeof m.title !== 'string') return false;
        if (existing || !validTitle(m.title)) return false;
        this.rows.set(m.id, { id: m.id, title: m.title, completed: 0, created_at: timestamp, priority: 0 });
        return true;
      case 'rename':
        if (!existing || typeof m.title !== 'string' || !validTitle(m.title)) return false;
        this.rows.set(existing.id, { ...existing, title: m.title });
        return true;
      case 'toggle':
        if (!existing) return false;
        this.rows.set(existing.id, { ...existing, completed: 1 - existing.completed });
        return true;
      case 'delete':
        if (!existing) return false;
        this.rows.delete(existing.id);
        return true;
      case 'clearCompleted':
        for (const row of [...this.rows.values()]) if (row.completed) this.rows.delete(row.id);
        return true;
      default:
        return false;
    }
  }

  sorted(): TodoRow[] {
    return [...this.rows.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}

/** Todo mutations over a small id space, so that ids collide; about a third are invalid. */
export function todoMutation(ids: number): fc.Arbitrary<TodoMutation | Record<string, unknown>> {
  const id = fc.nat(ids - 1).map((n) => `id${n}`);
  const title = fc.oneof(
    { weight: 8, arbitrary: fc.string({ minLength: 1, maxLength: 40 }) },
    { weight: 1, arbitrary: fc.constant('') },
    { weight: 1, arbitrary: fc.constant('z'.repeat(201)) },
  );
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ type: fc.constant('create' as const), id, title }) },
    { weight: 2, arbitrary: fc.record({ type: fc.constant('rename' as const), id, title }) },
    { weight: 3, arbitrary: fc.record({ type: fc.constant('toggle' as const), id }) },
    { weight: 2, arbitrary: fc.record({ type: fc.constant('delete' as const), id }) },
    { weight: 1, arbitrary: fc.constant({ type: 'clearCompleted' as const }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constantFrom('archive', '', 'CREATE'), id }) },
  );
}
