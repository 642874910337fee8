import { fileURLToPath } from 'node:url';

/** The todo reducer as `npm run build` (or `npx tandem build reducers/todo`) leaves it. */
export const TODO_REDUCER = fileURLToPath(
  new URL('../../../reducers/todo/dist/reducer.wasm', import.meta.url),
);
