// `@tandem/runtime/prepare`: the Node side's reducer loading, which meters components with binaryen
// (reducer/prepare.ts). Kept out of the main entry so that what a browser imports never reaches the
// instrumenter; browsers load prepared reducers with `loadPreparedReducer`.
export { loadReducer, prepareReducer } from './reducer/prepare.js';
