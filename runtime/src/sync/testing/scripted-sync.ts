// A SyncClient's two far ends, scripted by a test (sync-client.test.ts, and migrations' negotiation
// tests through `@tandem/runtime/testing`): the coordinator's socket, and a document that records
// what the client hands it.
import type { Frame } from '../../frame.js';
import {
  type ClientMessage,
  decodeClientMessage,
  encodeMessage,
  type ServerMessage,
} from '../../protocol/codec.js';
import { encodePageDelta } from '../../protocol/page-delta.js';
import type { MutationEnvelope } from '../../reducer/host.js';
import { PAGE_SIZE } from '../../vfs/page-store.js';
import { SyncClient } from '../sync-client.js';
import type { SyncFailure } from '../sync-failure.js';
import type { SyncOptions, SyncTarget, WebSocketLike } from '../sync-target.js';

/** A socket whose far end is the test: it sees what the client sends and says what the coordinator says. */
export class ScriptedSocket implements WebSocketLike {
  binaryType = 'blob';
  readyState = 0;
  bufferedAmount = 0;
  readonly sent: ClientMessage[] = [];
  closedWith: string | undefined;
  readonly #listeners = new Map<string, ((event: { data: unknown }) => void)[]>();

  addEventListener(type: string, listener: (event: { data: unknown }) => void): void {
    this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener]);
  }
  send(data: Uint8Array): void {
    this.sent.push(decodeClientMessage(data));
  }
  close(_code?: number, reason?: string): void {
    this.closedWith = reason ?? '';
    this.readyState = 3;
  }
  open(): void {
    this.readyState = 1;
    this.#emit('open', undefined);
  }
  say(message: ServerMessage): void {
    const bytes = encodeMessage(message);
    this.#emit('message', bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  }
  sayBytes(bytes: Uint8Array): void {
    this.#emit('message', bytes.buffer);
  }
  drop(): void {
    this.readyState = 3;
    this.#emit('close', undefined);
  }
  #emit(type: string, data: unknown): void {
    for (const listener of this.#listeners.get(type) ?? []) listener({ data });
  }
}

export class RecordingTarget implements SyncTarget {
  syncChanged: () => void = () => undefined;
  readonly docId = 'doc';
  readonly timelineId = 'me';
  readonly timelineSecret = 'c'.repeat(64);
  base = { journalId: null as string | null, cursor: 0 };
  pending: MutationEnvelope[] = [];
  readonly bursts: number[][] = [];
  readonly received: Frame[] = [];
  readonly basePages = new Map<number, Uint8Array>();
  readonly pushes: { appliedLsn: number; rejected: readonly { lsn: number; reason: string }[] }[] = [];
  baseCursor() {
    return this.base;
  }
  basePage(pgno: number) {
    return this.basePages.get(pgno);
  }
  pendingAfter(lsn: number) {
    return this.pending.filter((m) => m.lsn > lsn);
  }
  taken = -1;
  takenLsn() {
    return this.taken;
  }
  opened = Number.MAX_SAFE_INTEGER;
  openedThrough() {
    return this.opened;
  }
  rebase(update: { journalId: string; frames: readonly Frame[] }) {
    this.bursts.push(update.frames.map((f) => f.lsn));
    this.received.push(...update.frames);
    this.base = {
      journalId: update.journalId,
      cursor: (update.frames.at(-1)?.lsn ?? this.base.cursor - 1) + 1,
    };
  }
  pushed(appliedLsn: number, rejected: readonly { lsn: number; reason: string }[]) {
    this.pushes.push({ appliedLsn, rejected });
  }
  readonly failures: SyncFailure[] = [];
  syncFailed(failure: SyncFailure) {
    this.failures.push(failure);
  }
}

/**
 * A SyncClient of `target` over scripted sockets (each one it opens is pushed to `sockets`), retrying at
 * once with fixed jitter; `options` name its reducer and may replace any default.
 */
export function scriptedClient(
  target: SyncTarget,
  options: Pick<SyncOptions, 'reducerHash'> & Partial<SyncOptions>,
): { readonly client: SyncClient; readonly sockets: ScriptedSocket[] } {
  const sockets: ScriptedSocket[] = [];
  const client = new SyncClient(target, {
    url: 'ws://coordinator/sync',
    connect: () => {
      const socket = new ScriptedSocket();
      sockets.push(socket);
      return socket;
    },
    backoffMs: 1,
    maxBackoffMs: 2,
    random: () => 0.5,
    ...options,
  });
  return { client, sockets };
}

/** A page's delta against zeros: the tests that only follow lsns do not look at the pages. */
const DELTA = await encodePageDelta(undefined, new Uint8Array(PAGE_SIZE).fill(7));
/** A one-page frame at `lsn`. */
export const scriptedFrame = (lsn: number) => ({ lsn, pageCount: 1, pages: [{ pgno: 1, delta: DELTA }] });
/** A mutation of timeline `me` at `lsn`. */
export const scriptedMutation = (lsn: number): MutationEnvelope => ({
  timelineId: 'me',
  lsn,
  timestamp: 0,
  payload: new Uint8Array([lsn]),
});
