// `@tandem/runtime/testing`: suites and helpers for other packages' tests. It imports vitest, so it is
// never imported by code that ships.
export {
  type ContractOptions,
  describeByteStoreContract,
  type MakeByteStore,
} from './storage/byte-store.contract.js';
export {
  RecordingTarget,
  ScriptedSocket,
  scriptedClient,
  scriptedFrame,
  scriptedMutation,
} from './sync/testing/scripted-sync.js';
export { mulberry32 } from './testing/seeded-random.js';
