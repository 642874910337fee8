import { fileURLToPath } from 'node:url';

/** The todo reducer as `npm run build` (or `npx tandem build reducers/todo`) leaves it. */
export const TODO_REDUCER = fileURLToPath(
  new URL('../../../reducers/todo/dist/reducer.wasm', import.meta.url),
);

/** The todo reducer at schema version 1, frozen (e2e/fixtures/todo-v1-reducer), as `npm run build` leaves it. */
export const TODO_V1_REDUCER = fileURLToPath(
  new URL('../../../e2e/fixtures/todo-v1-reducer/dist/reducer.wasm', import.meta.url),
);
