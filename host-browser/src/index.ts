// In a tab: openDocument gives a TandemDocument whose document lives in the origin's one owner.
// Inside a worker, `@tandem/host-browser/worker` opens a LocalDocument in that worker itself.
export type {
  ArrayQueryOptions,
  ArrayRows,
  IntegerMode,
  MutateOptions,
  MutationFate,
  MutationResult,
  PlainValue,
  QueryOptions,
  RejectedMutation,
  Rejection,
  Row,
  SubscribeOptions,
  SyncState,
  SyncStatus,
} from '@tandem/runtime';
export { TandemError, type TandemErrorKind } from '@tandem/runtime/errors';
export type {
  DocumentStatus,
  OpenDocumentOptions,
  QueryParams,
  TandemDocument,
} from './tab-api.js';
export { openDocument } from './tab-document.js';
