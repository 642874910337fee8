// Opening a local document without the coordinator's side (the authority document, the sync protocol's
// schemas): `@tandem/migrations/local`, what a host loads when no coordinator is named.
export { loadPreparedReducerFrom } from './load-reducer.js';
export { type LocalDocumentOptions, openLocalDocument } from './open-document.js';
