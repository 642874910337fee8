// One row of the list. Editing (double-click the title): Enter or leaving the field saves, Escape
// cancels, an empty title deletes the todo. An edit ends once: the blur that follows Enter, Escape or
// the field's removal must not save a second time.
import { type KeyboardEvent, type ReactNode, useRef, useState } from 'react';
import { useOptimisticFlag } from './optimistic-flag.js';
import type { Todo } from './todos.js';

export interface TodoItemProps {
  readonly todo: Todo;
  readonly onToggle: (todo: Todo) => Promise<unknown>;
  readonly onDelete: (todo: Todo) => void;
  readonly onRename: (todo: Todo, title: string) => void;
}

export function TodoItem({ todo, onToggle, onDelete, onRename }: TodoItemProps): ReactNode {
  const [editText, setEditText] = useState<string | undefined>(undefined);
  const editing = useRef(false);
  const [completed, wantCompleted] = useOptimisticFlag(todo.completed === 1);

  const startEditing = () => {
    editing.current = true;
    setEditText(todo.title);
  };
  const finish = (save: boolean) => {
    if (!editing.current) return;
    editing.current = false;
    const title = (editText ?? '').trim();
    setEditText(undefined);
    if (!save) return;
    if (title === '') onDelete(todo);
    else if (title !== todo.title) onRename(todo, title);
  };
  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.nativeEvent.isComposing) return;
    if (event.key === 'Enter') finish(true);
    else if (event.key === 'Escape') finish(false);
  };

  const isEditing = editText !== undefined;
  return (
    <li className={isEditing ? 'editing' : completed ? 'completed' : undefined} data-testid="todo-item">
      <div className="view">
        <input
          className="toggle"
          type="checkbox"
          aria-label="Toggle Todo"
          checked={completed}
          onChange={() => wantCompleted(!completed, onToggle(todo))}
        />
        {/* biome-ignore lint/a11y/noLabelWithoutControl: TodoMVC's title label; tied to the checkbox, a double-click would toggle it twice */}
        <label data-testid="todo-title" onDoubleClick={startEditing}>
          {todo.title}
        </label>
        <button type="button" className="destroy" aria-label="Delete" onClick={() => onDelete(todo)} />
      </div>
      {isEditing && (
        <input
          className="edit"
          aria-label="Edit"
          value={editText}
          // biome-ignore lint/a11y/noAutofocus: the field appears because the user asked to edit this todo
          autoFocus
          onChange={(event) => setEditText(event.target.value)}
          onKeyDown={onKeyDown}
          onBlur={() => finish(true)}
        />
      )}
    </li>
  );
}
