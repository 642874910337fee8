// `@tandem/migrations/negotiation`: the reducer upgrade negotiation (DESIGN.md §7), apart from the
// package's root so that a document opened without a coordinator loads none of it (it stands on
// `@tandem/runtime/sync`). Hosts hand `reducerNegotiation` to the runtime's syncWithCoordinator, and open
// a document an upgrade left newer than the app's reducer with `newerReducerFor`.

export { moveFailure, reducerNegotiation } from './negotiation/reducer-negotiation.js';
export {
  coordinatorHttpRoot,
  decideReducer,
  type FetchLike,
  fetchCurrentReducer,
  fetchOfferedReducer,
  newerReducerFor,
  REDUCER_FETCH_TIMEOUT_MS,
} from './negotiation/reducer-offer.js';
