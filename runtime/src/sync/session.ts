// One socket's life in a SyncClient (its invariant C1): what a connection learnt dies with it.
import type { Frame } from '../frame.js';
import type { PageVersions } from '../protocol/page-delta.js';
import type { PageImage } from '../storage/page-image.js';
import type { OfferedReducer } from './negotiation.js';
import type { WebSocketLike } from './sync-target.js';

/** A WebSocket close reason is at most 123 bytes of UTF-8 (a longer one makes `close` throw). */
const CLOSE_REASON_BYTES = 123;

/** Ends a session's continuation quietly: its session is no longer current (C1). */
export class StaleSession extends Error {}

/** One socket's life (C1): everything learnt on a connection dies with it. */
export class Session {
  phase: 'connecting' | 'catching-up' | 'live' = 'connecting';
  journalId: string | undefined;
  snapshot: PageImage | undefined;
  burst: Frame[] = [];
  /** The pages the burst's next frame is encoded against (S4); reset with the burst. */
  versions: PageVersions | undefined;
  expectedLsn = 0;
  /** The coordinator's next frame lsn when it welcomed us: catch-up ends there. */
  head = 0;
  /** The last lsn pushed on this connection (or known taken by the coordinator). */
  pushedLsn = -1;
  /** Payload bytes of each push awaiting its result, oldest first (S3): results come in push order. */
  readonly inFlight: number[] = [];
  inFlightBytes = 0;
  /** Pushes sent, and results heard: the result heard next is for push number `answered`. */
  sent = 0;
  answered = 0;
  /** A gap refusal of a push numbered below this was sent before the last rewind (S2). */
  rewoundBefore = 0;
  lastHeard = 0;
  pingId = 0;
  /** Messages are handled strictly in arrival order, each after the previous one's awaits. */
  inbox: Promise<void> = Promise.resolve();
  /** Messages received and not yet handled. */
  unread = 0;
  /** The burst ended (`more: false`) but waits for the messages behind it (S1). */
  burstOpen = false;
  /** The coordinator's newer reducer, to move the document to once its base caught up (S8). */
  upgrade: OfferedReducer | undefined;
  handshake: ReturnType<typeof setTimeout> | undefined;
  heartbeat: ReturnType<typeof setInterval> | undefined;

  constructor(readonly socket: WebSocketLike) {}

  /** Stops the session's timers and closes its socket. */
  end(code: number, reason: string): void {
    clearTimeout(this.handshake);
    clearInterval(this.heartbeat);
    try {
      this.socket.close(code, closeReason(reason));
    } catch {
      // A socket that cannot even close is gone already; the session is over either way.
    }
  }
}

function closeReason(reason: string): string {
  const bytes = new TextEncoder().encode(reason);
  if (bytes.length <= CLOSE_REASON_BYTES) return reason;
  // Cut on a character boundary: decoding a cut sequence would add a replacement character.
  return new TextDecoder().decode(bytes.subarray(0, CLOSE_REASON_BYTES - 3)).replace(/\uFFFD$/, '');
}
