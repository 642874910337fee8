// The TodoMVC app (the standard template's markup and classes) over the open Tandem document: every
// change is a mutation of the todo reducer, and the list is a live query, so other tabs and devices
// show up as they sync.
import { useDocument, useMutate, useQuery } from '@tandem/host-browser/react';
import { type KeyboardEvent, type ReactNode, useState } from 'react';
import { applyFilter, FILTERS, useFilter } from './filter.js';
import { useOptimisticFlag } from './optimistic-flag.js';
import { SyncPanel } from './sync-panel.js';
import { TodoItem } from './todo-item.js';
import { ALL_TODOS, clearCompleted, create, remove, rename, type Todo, toggle, toggleAll } from './todos.js';

export function TodoApp(): ReactNode {
  const document = useDocument();
  const mutate = useMutate();
  const todos = useQuery<Todo>(ALL_TODOS);
  const filter = useFilter();
  const [newTitle, setNewTitle] = useState('');

  const onNewTodoKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key !== 'Enter' || event.nativeEvent.isComposing) return;
    const title = newTitle.trim();
    if (title === '') return;
    setNewTitle('');
    void mutate(create(title));
  };

  const all = todos ?? [];
  const activeCount = all.filter((todo) => todo.completed === 0).length;
  const completedCount = all.length - activeCount;
  const shown = applyFilter(all, filter);
  const [allCompleted, wantAllCompleted] = useOptimisticFlag(all.length > 0 && activeCount === 0);

  return (
    <>
      <section className="todoapp">
        <header className="header">
          <h1>todos</h1>
          <input
            className="new-todo"
            placeholder="What needs to be done?"
            // biome-ignore lint/a11y/noAutofocus: TodoMVC focuses the new-todo field on load
            autoFocus
            value={newTitle}
            onChange={(event) => setNewTitle(event.target.value)}
            onKeyDown={onNewTodoKeyDown}
          />
        </header>
        {all.length > 0 && (
          <>
            <section className="main">
              <input
                id="toggle-all"
                className="toggle-all"
                type="checkbox"
                checked={allCompleted}
                onChange={() =>
                  wantAllCompleted(!allCompleted, document.mutateBatch(toggleAll(all, !allCompleted)))
                }
              />
              <label htmlFor="toggle-all">Mark all as complete</label>
              <ul className="todo-list">
                {shown.map((todo) => (
                  <TodoItem
                    key={todo.id}
                    todo={todo}
                    onToggle={(t) => mutate(toggle(t.id))}
                    onDelete={(t) => void mutate(remove(t.id))}
                    onRename={(t, title) => void mutate(rename(t.id, title))}
                  />
                ))}
              </ul>
            </section>
            <footer className="footer">
              <span className="todo-count" data-testid="todo-count">
                <strong>{activeCount}</strong> {activeCount === 1 ? 'item' : 'items'} left
              </span>
              <ul className="filters">
                {FILTERS.map((link) => (
                  <li key={link.filter}>
                    <a className={link.filter === filter ? 'selected' : undefined} href={link.href}>
                      {link.label}
                    </a>
                  </li>
                ))}
              </ul>
              {completedCount > 0 && (
                <button
                  type="button"
                  className="clear-completed"
                  onClick={() => void mutate(clearCompleted())}
                >
                  Clear completed
                </button>
              )}
            </footer>
          </>
        )}
      </section>
      <SyncPanel />
      <footer className="info">
        <p>Double-click to edit a todo</p>
        <p>
          Kept in document <code>{document.docId}</code> (<code>?doc=NAME</code> opens another)
        </p>
      </footer>
    </>
  );
}
