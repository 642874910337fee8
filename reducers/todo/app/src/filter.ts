// The list's filter lives in the location hash (#/, #/active, #/completed), so links and the back
// button move between filters.
import { useSyncExternalStore } from 'react';
import type { Todo } from './todos.js';

export type Filter = 'all' | 'active' | 'completed';

export const FILTERS: readonly { readonly filter: Filter; readonly href: string; readonly label: string }[] =
  [
    { filter: 'all', href: '#/', label: 'All' },
    { filter: 'active', href: '#/active', label: 'Active' },
    { filter: 'completed', href: '#/completed', label: 'Completed' },
  ];

export function filterOf(hash: string): Filter {
  if (hash === '#/active') return 'active';
  if (hash === '#/completed') return 'completed';
  return 'all';
}

export function applyFilter(todos: readonly Todo[], filter: Filter): readonly Todo[] {
  if (filter === 'all') return todos;
  const completed = filter === 'completed';
  return todos.filter((todo) => (todo.completed === 1) === completed);
}

const onHashChange = (listener: () => void): (() => void) => {
  window.addEventListener('hashchange', listener);
  return () => window.removeEventListener('hashchange', listener);
};

export function useFilter(): Filter {
  return filterOf(useSyncExternalStore(onHashChange, () => window.location.hash));
}
