// The sync client and the protocol's codec without the messages' schemas: `@tandem/runtime/sync`, what
// a syncing document loads on top of `@tandem/runtime/local`. The codec checks messages against the
// schemas' JSON form (protocol/wire-schemas.ts), so no schema library loads with it; the package's root
// adds the schemas themselves (TypeBox) for the coordinator and for tests.
export {
  type ClientMessage,
  decodeClientMessage,
  decodeServerMessage,
  encodeKeyedMessage,
  encodeMessage,
  MESSAGE_TAGS,
  ProtocolError,
  type ProtocolErrorKind,
  type ServerMessage,
} from './protocol/codec.js';
export { sha256Hex } from './sha256.js';
export { syncWithCoordinator } from './sync/coordinator-options.js';
export type {
  OfferedReducer,
  ReducerDecision,
  ReducerIdentity,
  ReducerNegotiation,
} from './sync/negotiation.js';
export { SyncClient } from './sync/sync-client.js';
export { SyncFailure, type SyncFailureReason } from './sync/sync-failure.js';
