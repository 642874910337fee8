export { DocumentPool, type DocumentPoolOptions } from './document-pool.js';
