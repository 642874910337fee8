// Opening a local document: `@tandem/migrations/local`, what a host loads.
export { type LocalDocumentOptions, openLocalDocument } from './open-document.js';
