// What a SyncClient is given: the document it syncs (SyncTarget), the host's socket (WebSocketLike) and
// its options, and how the coordinator's snapshots and frames are decoded.
import type { Frame } from '../frame.js';
import type { WireFrame } from '../protocol/common.js';
import type { PageVersions } from '../protocol/page-delta.js';
import type { MutationEnvelope, ReducerModule } from '../reducer/host.js';
import type { ReducerLimits } from '../reducer/limits.js';
import { keepWireForm } from '../storage/frame-record.js';
import { decodePageImage, type PageImage } from '../storage/page-image.js';
import type { ReducerIdentity, ReducerNegotiation } from './negotiation.js';
import type { SyncFailure } from './sync-failure.js';

/** The part of the WHATWG WebSocket the client uses. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'close' | 'error', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
}

/**
 * `waiting-for-reducer`: connected, but the coordinator runs an older reducer than this client's (the
 * app shipped first): frames are taken, nothing is pushed until the coordinator runs this one.
 */
export type SyncState =
  | 'connecting'
  | 'catching-up'
  | 'live'
  | 'waiting-for-reducer'
  | 'offline'
  | 'failed'
  | 'closed';

/** What a client waits for in `waiting-for-reducer`: its own reducer, deployed on the coordinator. */
export interface ReducerWait extends ReducerIdentity {
  /** The reducer the coordinator runs meanwhile (older). */
  readonly coordinator: ReducerIdentity;
}

/** What the client needs from the document it syncs. */
export interface SyncTarget {
  readonly docId: string;
  readonly timelineId: string;
  /** Proves the timeline is this client's (storage/timeline-secret.ts); sent with every hello. */
  readonly timelineSecret: string;
  /** The history the base comes from (null before the first sync) and the lsn of the next base frame. */
  baseCursor(): { readonly journalId: string | null; readonly cursor: number };
  /** The base's committed page at `pgno` (what the next frame's deltas are against), if it holds one. */
  basePage(pgno: number): Uint8Array | undefined;
  /** Pending mutations with lsn > `lsn`, in lsn order. */
  pendingAfter(lsn: number): readonly MutationEnvelope[];
  /** The last lsn of this timeline the coordinator is known to have taken (its base's marker, its answers); -1 for none. */
  takenLsn(): number;
  /** The last lsn of this timeline the document held when it opened (its timeline, or its base's marker); -1 for none. */
  openedThrough(): number;
  /**
   * A burst arrived: replace the base with `snapshot` (if any), apply `frames`, rebase the overlay —
   * under `reducer` from now on when one is given (an upgrade, as `upgradeReducer` does). The frames'
   * page arrays become the document's: nobody changes them after.
   */
  rebase(update: {
    readonly journalId: string;
    readonly snapshot?: PageImage;
    readonly frames: readonly Frame[];
    readonly reducer?: ReducerModule;
  }): void;
  /** The coordinator took this timeline's mutations up to `appliedLsn`, rejecting `rejected`. */
  pushed(appliedLsn: number, rejected: readonly { readonly lsn: number; readonly reason: string }[]): void;
  /** Syncing stopped for good (state `failed`): nothing pending will reach the coordinator. */
  syncFailed(failure: SyncFailure): void;
  /** The client's `state`, `lastDrop`, `error` or `paused` may have changed (a document's status). */
  syncChanged?(): void;
  /** The reducer the document runs (negotiation.ts); without it another reducer is a mismatch. */
  reducerIdentity?(): ReducerIdentity;
  /**
   * Runs `module` (the coordinator's newer reducer) from now on: the overlay migrated to its schema and
   * every pending mutation reduced again under it. Rejects with a TandemError (`migration-failed`, or
   * `storage-failed` when its new schema version could not be recorded) and keeps the reducer it had
   * when that cannot be done.
   */
  upgradeReducer?(module: ReducerModule): Promise<void>;
  /**
   * Records durably the schema version of `module` before a `rebase` moves the document to it (a
   * reopen with an older reducer is then refused). Rejects (`storage-failed`) when it cannot.
   */
  readyUpgrade?(module: ReducerModule): Promise<void>;
}

export interface SyncOptions {
  /**
   * The coordinator's sync endpoint, e.g. `ws://localhost:8787/sync`, or several coordinators sharing a
   * store: tried in this order, moving on when one fails, and following their redirects
   * (coordinator-list.ts).
   */
  readonly url: string | readonly string[];
  readonly connect: (url: string) => WebSocketLike;
  /**
   * Origins (or URLs) a coordinator may redirect this client to besides those of `url`; a redirect
   * anywhere else is refused (`redirect-refused`) and the client moves down its list
   * (coordinator-list.ts L6): a coordinator is not trusted with the token on any host it names.
   */
  readonly redirectOrigins?: readonly string[];
  readonly reducerHash: string;
  readonly token?: string;
  /** First reconnect delay; doubles up to `maxBackoffMs`, with jitter. */
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
  /** A ping this often; a connection silent for 3 intervals is dropped. */
  readonly heartbeatMs?: number;
  readonly onStateChange?: (state: SyncState) => void;
  /** Seeds the jitter (tests); Math.random by default. */
  readonly random?: () => number;
  /**
   * The reducer negotiation (negotiation.ts: `@tandem/migrations`' reducerNegotiation, handed in by the
   * host); without it, a welcome naming another reducer fails the client (`reducer-mismatch`).
   */
  readonly negotiation?: ReducerNegotiation;
  /** The budgets an offered reducer is loaded under: the document's reducer's (DEFAULT_LIMITS otherwise). */
  readonly limits?: Partial<ReducerLimits>;
  /** How snapshots and frames are decoded (tests wrap it to act mid-decode); DECODER by default. */
  readonly decoder?: MessageDecoder;
}

/**
 * The client's two decoding steps: a snapshot's image (asynchronous), and one frame against its pages'
 * versions (synchronous by default: a promise per frame was a share of a receiving client's CPU; a
 * decoder may still answer with one, and the client awaits it).
 */
export interface MessageDecoder {
  image(bytes: Uint8Array): Promise<PageImage>;
  frame(versions: PageVersions, wire: WireFrame): Frame | Promise<Frame>;
}

export const DECODER: MessageDecoder = {
  image: decodePageImage,
  frame: (versions, wire) => {
    const frame = versions.decode(wire);
    // The client's base log stores the frame as it came (storage/frame-record.ts).
    keepWireForm(frame, wire);
    return frame;
  },
};
