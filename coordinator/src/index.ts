export type { CatchUpReply, CatchUpRequest } from './catch-up.js';
export { DocumentPool, type DocumentPoolOptions } from './document-pool.js';
export { createLog, type Log, type LogLevel, type LogOptions } from './log.js';
export { type Coordinator, type CoordinatorOptions, startCoordinator } from './server.js';
