// The whole runtime: the local part (local.ts, also `@tandem/runtime/local`), the sync protocol's
// messages and codec, and the sync client.
export * from './local.js';
export {
  CLIENT_MESSAGES,
  type ClientMessage,
  decodeClientMessage,
  decodeServerMessage,
  encodeKeyedMessage,
  encodeMessage,
  MESSAGE_TAGS,
  ProtocolError,
  type ProtocolErrorKind,
  SERVER_MESSAGES,
  type ServerMessage,
} from './protocol/codec.js';
export { WireFrame } from './protocol/common.js';
export { ERROR_KINDS, ErrorMessage } from './protocol/error.js';
export { Frames } from './protocol/frames.js';
export { AskHead, Head } from './protocol/head.js';
export { Hello } from './protocol/hello.js';
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
export { Snapshot } from './protocol/snapshot.js';
export { MIN_PROTOCOL_VERSION, PROTOCOL_VERSION } from './protocol/version.js';
export { Welcome } from './protocol/welcome.js';
export { syncWithCoordinator } from './sync/coordinator-options.js';
export { SyncClient } from './sync/sync-client.js';
export { SyncFailure, type SyncFailureReason } from './sync/sync-failure.js';
