// The whole runtime: the local part (local.ts, also `@tandem/runtime/local`), the sync client and codec
// (sync.ts, also `@tandem/runtime/sync`), and the sync protocol's message schemas.
export * from './local.js';
export { WireFrame } from './protocol/common.js';
export { ERROR_KINDS, ErrorMessage } from './protocol/error.js';
export { Frames } from './protocol/frames.js';
export { AskHead, Head } from './protocol/head.js';
export { Hello } from './protocol/hello.js';
export { CLIENT_MESSAGES, SERVER_MESSAGES } from './protocol/messages.js';
export {
  MUTATION_WIRE_OVERHEAD,
  mutationProblem,
  Payload,
  PushMutations,
  pushProblem,
  Timestamp,
  timestampProblem,
  WireMutation,
} from './protocol/mutation-bounds.js';
export { Ping, Pong } from './protocol/ping.js';
export { Push } from './protocol/push.js';
export { PushResult } from './protocol/push-result.js';
export { Redirect } from './protocol/redirect.js';
export { Snapshot } from './protocol/snapshot.js';
export { MIN_PROTOCOL_VERSION, PROTOCOL_VERSION } from './protocol/version.js';
export { Welcome } from './protocol/welcome.js';
export * from './sync.js';
