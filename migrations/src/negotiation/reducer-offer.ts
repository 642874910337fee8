// Reducer negotiation: what a client does when the coordinator's welcome names a reducer other than its
// own (DESIGN.md §7). The coordinator's HTTP side serves every reducer it knows at
// `/reducers/<sha256>.wasm` and names its current one at `/reducers/current`. The runtime's SyncClient
// drives it through its ReducerNegotiation seam (reducer-negotiation.ts hands these in).
//
// Invariants:
// 1. A client runs only a reducer the coordinator lists: the offered reducer is fetched from the
//    coordinator by its hash, and used only when the bytes' SHA-256 is the hash the welcome named and
//    the loader takes them under this client's limits (runtime prepared.ts invariant 3).
// 2. The decision depends on the two schema versions alone: the coordinator's higher → upgrade (load
//    it, migrate the overlay, reduce the pending mutations again under it); lower → wait (the app shipped
//    first: keep working locally, push nothing, until the coordinator runs this client's reducer); equal
//    (other code or other limits at the same version) → mismatch, for good.
// 3. What cannot be had as invariant 1 says (not listed, other bytes, refused by the loader) is a
//    mismatch, for good (SyncFailure `reducer-mismatch`); only a coordinator that did not answer (the
//    network, an HTTP 5xx) is transient: a plain Error, so the connection drops and the next one asks again.

import {
  declaredSchemaVersion,
  loadPreparedReducer,
  type ReducerLimits,
  type ReducerModule,
  TandemError,
} from '@tandem/runtime/local';
import {
  type OfferedReducer,
  type ReducerDecision,
  type ReducerIdentity,
  SyncFailure,
  sha256Hex,
} from '@tandem/runtime/sync';

/** What a client does about the coordinator's reducer `offered` while it runs `own` (invariant 2). */
export function decideReducer(own: ReducerIdentity, offered: ReducerIdentity): ReducerDecision {
  if (offered.hash === own.hash) throw new RangeError('the same reducer needs no negotiation');
  if (offered.schemaVersion > own.schemaVersion) return 'upgrade';
  if (offered.schemaVersion < own.schemaVersion) return 'wait';
  return 'mismatch';
}

export type FetchLike = (
  url: string,
  init: { readonly signal: AbortSignal },
) => Promise<Pick<Response, 'ok' | 'status' | 'arrayBuffer' | 'json'>>;

/**
 * How long a reducer's fetch (the answer and its bytes) may take before it counts as a coordinator that
 * did not answer (invariant 3): a hung request would otherwise hold every later welcome that names it.
 * A reducer is a few megabytes; 30 s covers a slow link.
 */
export const REDUCER_FETCH_TIMEOUT_MS = 30_000;

/**
 * The coordinator's HTTP root for its sync endpoint: `ws://host:port/sync` → `http://host:port` (the
 * endpoint's last `/sync` dropped, so a coordinator behind a path prefix keeps it).
 */
export function coordinatorHttpRoot(coordinatorUrl: string): string {
  const url = new URL(coordinatorUrl);
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
  url.pathname = url.pathname.replace(/\/sync\/?$/, '');
  url.search = '';
  url.hash = '';
  return url.href.replace(/\/$/, '');
}

/**
 * Fetches the reducer `hash` from the coordinator at `root` and loads it under `limits` (invariants 1
 * and 3): a SyncFailure `reducer-mismatch` when it cannot be the one named, a plain Error when the
 * coordinator did not answer.
 */
export async function fetchOfferedReducer(
  root: string,
  hash: string,
  limits: Partial<ReducerLimits>,
  fetchBytes: FetchLike = fetch,
  timeoutMs = REDUCER_FETCH_TIMEOUT_MS,
): Promise<OfferedReducer> {
  const url = `${root}/reducers/${hash}.wasm`;
  const mismatch = (why: string) =>
    new SyncFailure('reducer-mismatch', `the coordinator runs reducer ${hash}, which ${why}`);
  if (!/^[0-9a-f]{64}$/.test(hash)) throw mismatch('is not a SHA-256');
  let bytes: Uint8Array;
  try {
    const answer = await fetchBytes(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (answer.status >= 500) throw new Error(`HTTP ${answer.status}`);
    if (!answer.ok) throw mismatch(`it does not serve (${url}: HTTP ${answer.status})`);
    bytes = new Uint8Array(await answer.arrayBuffer());
  } catch (error) {
    if (error instanceof SyncFailure) throw error;
    throw new Error(`cannot fetch ${url}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const got = await sha256Hex([bytes]);
  if (got !== hash) throw mismatch(`it served as bytes whose SHA-256 is ${got}`);
  let module: ReducerModule;
  let schemaVersion: number;
  try {
    module = await loadPreparedReducer(bytes, { limits });
    schemaVersion = declaredSchemaVersion(module);
  } catch (error) {
    throw mismatch(`this client cannot load: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (module.sha256 !== hash) throw mismatch(`loaded as ${module.sha256}`);
  return { module, schemaVersion };
}

/**
 * The coordinator's current reducer (`GET /reducers/current`), fetched and loaded as
 * `fetchOfferedReducer` does; what a host opens a document with when its files are newer than the app's
 * reducer (`reducer-too-old`).
 */
export async function fetchCurrentReducer(
  coordinatorUrl: string,
  limits: Partial<ReducerLimits>,
  fetchBytes: FetchLike = fetch,
  timeoutMs = REDUCER_FETCH_TIMEOUT_MS,
): Promise<OfferedReducer> {
  const root = coordinatorHttpRoot(coordinatorUrl);
  const answer = await fetchBytes(`${root}/reducers/current`, { signal: AbortSignal.timeout(timeoutMs) });
  if (!answer.ok) throw new Error(`cannot fetch ${root}/reducers/current: HTTP ${answer.status}`);
  const body = (await answer.json()) as unknown;
  const hash =
    typeof body === 'object' && body !== null && 'sha256' in body && typeof body.sha256 === 'string'
      ? body.sha256
      : undefined;
  if (hash === undefined) throw new Error(`${root}/reducers/current names no sha256`);
  return fetchOfferedReducer(root, hash, limits, fetchBytes, timeoutMs);
}

/**
 * The coordinator's current reducer when `error` refused the app's reducer as older than the document
 * (`reducer-too-old`: an upgrade moved it on) and the coordinator's is new enough; undefined otherwise.
 * Hosts open the document with it instead.
 */
export async function newerReducerFor(
  error: unknown,
  coordinatorUrls: string | readonly string[] | undefined,
  limits: Partial<ReducerLimits>,
): Promise<ReducerModule | undefined> {
  // Coordinators sharing a store share their reducers: the first one listed is asked.
  const coordinatorUrl = typeof coordinatorUrls === 'string' ? coordinatorUrls : coordinatorUrls?.[0];
  if (!(error instanceof TandemError) || error.kind !== 'reducer-too-old' || coordinatorUrl === undefined) {
    return undefined;
  }
  const documentVersion = error.fields.documentVersion ?? Number.POSITIVE_INFINITY;
  const current = await fetchCurrentReducer(coordinatorUrl, limits).catch(() => undefined);
  return current !== undefined && current.schemaVersion >= documentVersion ? current.module : undefined;
}
