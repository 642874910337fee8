// Model-based test of the SyncClient's connection state machine (sync-client.ts invariants): a scripted
// coordinator (a model of its frame log and of this timeline's applied marker) talks to the client over a
// fake socket, and a fault — the socket closing or failing, `send` or `connect` throwing, the document
// throwing from `rebase` or `pushed` — lands before, while (each decode held open) or after any message
// of any type. Whatever happens, the client must end live on an open socket with every pending mutation
// pushed, or offline with a retry that reconnects; it must never claim `live` without a socket, lose or
// reorder a frame, skip a pending mutation, or push one twice in a session but after a rewind. The app
// takes the client offline (`goOffline`, alone or followed at once by `goOnline`) at those same points
// and between them: taken offline it holds no socket and never reconnects, whatever time passes, while
// mutations keep coming; `goOnline` connects at once; `whenLive` never rejects for it. The app asks
// where the coordinator's journal stands (`askHead`) at any point: each ask settles once, only with an
// answer its frames reached the document before (never early), is asked again on every session until
// answered, and rejects only once the client failed or closed. Some sessions are welcomed by a
// coordinator running another reducer than the client's (S8): an older one, and the client waits
// (`waiting-for-reducer`, on an open socket), takes the frames and never pushes; a newer one, and the
// document moves to it only once its base caught up, once, nothing pushed on that session, every later
// hello saying the new hash. Under the same faults, the next session welcomed under the client's own
// reducer pushes everything.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import type { Frame } from '../frame.js';
import {
  type ClientMessage,
  decodeClientMessage,
  encodeMessage,
  type ServerMessage,
} from '../protocol/codec.js';
import type { WireFrame } from '../protocol/common.js';
import { ERROR_KINDS } from '../protocol/error.js';
import type { PageVersions } from '../protocol/page-delta.js';
import type { MutationEnvelope, ReducerModule } from '../reducer/host.js';
import { encodePageImage, type PageImage } from '../storage/page-image.js';
import { PAGE_SIZE } from '../vfs/page-store.js';
import {
  DECODER,
  type MessageDecoder,
  SyncClient,
  type SyncState,
  type SyncTarget,
  type WebSocketLike,
} from './sync-client.js';

const SEED = Number(
  (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.FC_SEED ??
    20_260_801,
);
const RUNS = 1000;
const HASH = 'ab'.repeat(32);
/** The coordinator's reducer before it deploys the client's: an older schema version. */
const OLDER = 'cd'.repeat(32);
/** A reducer deployed on the coordinator after the client's: a newer schema version. */
const NEWER = 'ef'.repeat(32);
const JOURNAL = 'j1';
const BACKOFF = 5;
const MAX_BACKOFF = 40;
const TERMINAL = new Set<string>(['unauthorized', 'timeline-taken', 'unsupported-version', 'malformed']);

const FAULTS = [
  'close',
  'error',
  'send-throws',
  'connect-throws',
  'rebase-throws',
  'pushed-throws',
  'go-offline',
  'offline-blip',
] as const;
type FaultKind = (typeof FAULTS)[number];
const PHASES = ['before', 'queued', 'during-0', 'during-1', 'during-2', 'after'] as const;
type Phase = (typeof PHASES)[number];
interface Fault {
  /** Which event of the session (0 is the socket opening, then each message the coordinator sends). */
  readonly at: number;
  readonly phase: Phase;
  readonly kind: FaultKind;
}

type Step =
  | { readonly kind: 'frame' }
  | { readonly kind: 'take' }
  | { readonly kind: 'lose-push' }
  | { readonly kind: 'mutate' }
  | { readonly kind: 'go-offline' }
  | { readonly kind: 'go-online' }
  | { readonly kind: 'ping' }
  | { readonly kind: 'pong' }
  | { readonly kind: 'ask-head' }
  /** The coordinator answers every ask-head this session carried and it has not answered. */
  | { readonly kind: 'head' }
  | { readonly kind: 'error'; readonly error: (typeof ERROR_KINDS)[number] };

interface SessionPlan {
  /**
   * The reducer the coordinator welcomes with (S8): the client's own; an older one (the client must
   * wait); or a newer one (the client must move to it, once caught up; its own after that).
   */
  readonly reducer: 'own' | 'older' | 'newer';
  /** The catch-up starts with a snapshot even when frames would do (a lagging connection gets one). */
  readonly snapshot: boolean;
  /** Frames per catch-up message. */
  readonly chunk: number;
  readonly steps: readonly Step[];
  readonly fault: Fault | undefined;
}

interface Run {
  readonly journal: 'none' | 'same' | 'other';
  readonly cursor: number;
  readonly ahead: number;
  readonly pending: number;
  readonly taken: number;
  readonly sessions: readonly SessionPlan[];
}

/** Frames carry no pages: the pages' path is sync-client.test.ts's; here only their order matters. */
const wireFrame = (lsn: number): WireFrame => ({ lsn, pageCount: 1, pages: [] });
const IMAGES = new Map<number, Uint8Array>();
async function image(frameCount: number): Promise<Uint8Array> {
  let bytes = IMAGES.get(frameCount);
  if (bytes === undefined) {
    const page = new Uint8Array(PAGE_SIZE).fill(frameCount);
    const parts = await encodePageImage(
      { pageCount: 1, pages: () => [{ pgno: 1, data: page }] },
      frameCount,
      'raw',
    );
    bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const part of parts) {
      bytes.set(part, at);
      at += part.length;
    }
    IMAGES.set(frameCount, bytes);
  }
  return bytes;
}

class FakeSocket implements WebSocketLike {
  binaryType = 'blob';
  readyState = 0;
  bufferedAmount = 0;
  readonly sent: ClientMessage[] = [];
  closedByClient = false;
  sendThrows = false;
  readonly #listeners = new Map<string, ((event: { data: unknown }) => void)[]>();

  addEventListener(type: string, listener: (event: { data: unknown }) => void): void {
    this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener]);
  }
  send(data: Uint8Array): void {
    if (this.sendThrows) throw new Error('send failed');
    if (this.readyState !== 1) throw new Error(`send on a socket in state ${this.readyState}`);
    this.sent.push(decodeClientMessage(data));
  }
  close(): void {
    if (this.readyState === 3) return;
    this.closedByClient = true;
    this.readyState = 3;
    // A real socket reports its close later: the client must ignore it (its session is over).
    queueMicrotask(() => this.#emit('close', undefined));
  }
  get open(): boolean {
    return this.readyState === 1 && !this.closedByClient;
  }
  opened(): void {
    this.readyState = 1;
    this.#emit('open', undefined);
  }
  say(message: ServerMessage): void {
    const bytes = encodeMessage(message);
    this.#emit('message', bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  }
  peerClose(withError: boolean): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    if (withError) this.#emit('error', undefined);
    this.#emit('close', undefined);
  }
  #emit(type: string, data: unknown): void {
    for (const listener of this.#listeners.get(type) ?? []) listener({ data });
  }
}

/** The document: checks that frames arrive in order without gaps, and can be made to throw once. */
class ModelTarget implements SyncTarget {
  readonly docId = 'doc';
  readonly timelineId = 'me';
  readonly timelineSecret = 'ab'.repeat(16);
  journalId: string | null;
  cursor: number;
  pending: MutationEnvelope[] = [];
  nextLsn = 0;
  throwOnRebase = false;
  throwOnPushed = false;
  readonly violations: string[] = [];
  failures = 0;

  constructor(journalId: string | null, cursor: number) {
    this.journalId = journalId;
    this.cursor = cursor;
  }
  baseCursor() {
    return { journalId: this.journalId, cursor: this.cursor };
  }
  basePage(): Uint8Array | undefined {
    return undefined;
  }
  pendingAfter(lsn: number) {
    return this.pending.filter((m) => m.lsn > lsn);
  }
  taken = -1;
  takenLsn() {
    return this.taken;
  }
  opened = -1;
  openedThrough() {
    return this.opened;
  }
  rebase(update: {
    journalId: string;
    snapshot?: PageImage;
    frames: readonly Frame[];
    reducer?: ReducerModule;
  }) {
    if (this.throwOnRebase) {
      this.throwOnRebase = false;
      throw new Error('rebase failed');
    }
    if (update.snapshot !== undefined) {
      if (update.journalId === this.journalId && update.snapshot.frameCount < this.cursor) {
        this.violations.push(
          `a snapshot at ${update.snapshot.frameCount} took the base back from ${this.cursor}`,
        );
      }
      this.cursor = update.snapshot.frameCount;
    } else if (this.journalId !== null && update.journalId !== this.journalId) {
      this.violations.push(`frames of ${update.journalId} on a base of ${this.journalId}`);
    }
    this.journalId = update.journalId;
    for (const frame of update.frames) {
      if (frame.lsn !== this.cursor) this.violations.push(`frame ${frame.lsn} applied at ${this.cursor}`);
      this.cursor = frame.lsn + 1;
    }
    if (update.reducer !== undefined) this.move(update.reducer);
  }
  pushed(appliedLsn: number) {
    if (this.throwOnPushed) {
      this.throwOnPushed = false;
      throw new Error('pushed failed');
    }
    this.pending = this.pending.filter((m) => m.lsn > appliedLsn);
    this.taken = Math.max(this.taken, appliedLsn);
  }
  syncFailed(): void {
    this.failures++;
  }
  /** The document's reducer: HASH (schema version 2) until it moves to NEWER (3). */
  hash = HASH;
  /** Where the coordinator's journal stands: a move must find the base there. */
  coordinatorHead: () => number = () => 0;
  reducerIdentity() {
    return { hash: this.hash, schemaVersion: this.hash === NEWER ? 3 : 2 };
  }
  async upgradeReducer(module: ReducerModule): Promise<void> {
    this.move(module);
  }
  private move(module: ReducerModule): void {
    if (module.sha256 !== NEWER) this.violations.push(`moved to reducer ${module.sha256}`);
    if (this.hash === NEWER) this.violations.push('moved twice');
    if (this.cursor !== this.coordinatorHead()) {
      this.violations.push(`moved at ${this.cursor}, before catching up to ${this.coordinatorHead()}`);
    }
    this.hash = module.sha256;
  }
  mutate(): void {
    this.pending.push({ timelineId: 'me', lsn: this.nextLsn, timestamp: 0, payload: new Uint8Array([1]) });
    this.nextLsn++;
  }
}

/** A decode the test holds open until it releases it: faults land while the client awaits it. */
interface Held {
  readonly release: () => void;
}

function heldDecoder(held: Held[], work: Promise<unknown>[]): MessageDecoder {
  const hold = async <T>(decoding: Promise<T>): Promise<T> => {
    work.push(decoding.catch(() => undefined));
    const value = await decoding;
    await new Promise<void>((release) => held.push({ release }));
    return value;
  };
  return {
    image: (bytes) => hold(DECODER.image(bytes)),
    frame: (versions: PageVersions, wire: WireFrame) => hold(Promise.resolve(DECODER.frame(versions, wire))),
  };
}

/** The client's state, read anew (a claim on `client.state` would narrow it for the rest of the scope). */
const stateOf = (client: SyncClient): SyncState => client.state;

function claim(holds: boolean, what: string): asserts holds {
  if (!holds) throw new Error(what);
}

const immediate = () => new Promise<void>((resolve) => setImmediate(resolve));

async function check(run: Run): Promise<void> {
  const journal = run.journal === 'none' ? null : run.journal === 'same' ? JOURNAL : 'j0';
  const cursor = journal === null ? 0 : run.cursor;
  const target = new ModelTarget(journal, cursor);
  for (let i = 0; i < run.pending; i++) target.mutate();
  target.opened = target.nextLsn - 1;
  // The coordinator's model: its frame log's head and this timeline's applied marker.
  const coordinator = { head: cursor + run.ahead, applied: Math.min(run.taken, run.pending) - 1 };
  target.coordinatorHead = () => coordinator.head;
  const sockets: FakeSocket[] = [];
  let connectFailures = 0;
  let connects = 0;
  const held: Held[] = [];
  const work: Promise<unknown>[] = [];
  /** The app took the client offline and has not brought it back. */
  let paused = false;
  /** What `whenLive` did for the waits begun right after each `goOffline`. */
  const offlineWaits: ('waiting' | 'live' | Error)[] = [];
  /** What became of each `askHead()`. */
  const asks: ('waiting' | 'answered' | Error)[] = [];
  const client = new SyncClient(target, {
    url: 'ws://coordinator/sync',
    connect: () => {
      connects++;
      if (connectFailures > 0) {
        connectFailures--;
        throw new Error('connect failed');
      }
      const socket = new FakeSocket();
      sockets.push(socket);
      return socket;
    },
    reducerHash: HASH,
    // The negotiation's answers as `@tandem/migrations`' reducerNegotiation gives them (its own tests hold
    // them to its policy): the coordinator's reducers loaded (their hash and schema version are read), a
    // newer one an upgrade, an older one a wait. Here only the client's mechanics are under test.
    negotiation: {
      fetchOffered: async (_url, hash) => ({
        module: { sha256: hash } as ReducerModule,
        schemaVersion: hash === NEWER ? 3 : 1,
      }),
      decide: (own, offered) => (offered.schemaVersion > own.schemaVersion ? 'upgrade' : 'wait'),
      moveFailure: (error) => error,
    },
    backoffMs: BACKOFF,
    maxBackoffMs: MAX_BACKOFF,
    heartbeatMs: 60_000,
    random: () => 0.5,
    decoder: heldDecoder(held, work),
  });

  /** Lets the client run until it waits on a held decode or has nothing left to do. */
  const settle = async (): Promise<void> => {
    do {
      await Promise.all(work.splice(0));
      await immediate();
    } while (work.length > 0);
  };
  const current = (): FakeSocket | undefined => sockets.at(-1);
  const goOffline = (): void => {
    client.goOffline();
    client.goOffline();
    // A client that failed for good stays as it is.
    if (stateOf(client) !== 'failed') paused = true;
    const at = offlineWaits.push('waiting') - 1;
    client.whenLive().then(
      () => {
        offlineWaits[at] = 'live';
      },
      (error: Error) => {
        offlineWaits[at] = error;
      },
    );
  };
  /** `askHead()`: an answer must find its frames in the document already (S7). */
  const askHead = (): void => {
    const at = asks.push('waiting') - 1;
    client.askHead().then(
      (answer) => {
        // A head of 0 holds nothing to wait for (a journal without frames has made no rebase yet).
        const holds = target.journalId === answer.journalId && target.cursor >= answer.head;
        if (answer.head > 0 && !holds) {
          target.violations.push(
            `ask ${at} answered with ${answer.journalId}:${answer.head} while the base is at ${target.journalId}:${target.cursor}`,
          );
        }
        asks[at] = 'answered';
      },
      (error: Error) => {
        asks[at] = error;
      },
    );
  };
  /** `goOnline` (twice): connects at once, unless the client is not taken offline. */
  const goOnline = (): void => {
    const connects0 = connects;
    const wasPaused = paused && stateOf(client) === 'offline';
    client.goOnline();
    client.goOnline();
    paused = false;
    claim(
      connects === connects0 + (wasPaused ? 1 : 0),
      `goOnline made ${connects - connects0} connects (taken offline: ${wasPaused})`,
    );
  };
  /** The socket of a session welcomed under another reducer than its hello's: nothing may be pushed on it (S8). */
  let waitingSocket: FakeSocket | undefined;
  /** The claims that hold between any two events. */
  const invariant = (): void => {
    claim(target.violations.length === 0, target.violations.join('; '));
    const state = client.state;
    if (state === 'live' || state === 'catching-up' || state === 'waiting-for-reducer') {
      claim(current()?.open === true, `${state} without an open socket`);
    }
    claim(
      waitingSocket?.sent.some((m) => m.type === 'push') !== true,
      'a push under a reducer the coordinator does not run',
    );
    if (state === 'waiting-for-reducer')
      claim(waitingSocket === current(), 'waiting on a session that may push');
    claim(
      client.reducerHash === target.hash,
      `the client says ${client.reducerHash}, the document runs ${target.hash}`,
    );
    claim(
      state !== 'live' || client.waitingFor === undefined,
      'live while waiting for the coordinator to run its reducer',
    );
    if (state === 'connecting') claim(current()?.readyState !== 3, 'connecting on a closed socket');
    claim(client.paused === paused, `paused is ${client.paused}, the app said ${paused}`);
    if (paused) {
      claim(state === 'offline' || state === 'failed', `${state} while taken offline`);
      claim(current() === undefined || current()!.readyState === 3, 'a socket while taken offline');
    }
    for (const wait of offlineWaits) {
      if (wait instanceof Error)
        claim(state === 'failed', `whenLive rejected while ${state}: ${wait.message}`);
    }
    for (const ask of asks) {
      if (ask instanceof Error) claim(state === 'failed', `askHead rejected while ${state}: ${ask.message}`);
    }
  };

  /** Runs one connection's life; true if the client failed for good (a terminal error). */
  const session = async (plan: SessionPlan, final: boolean): Promise<boolean> => {
    const socket = current()!;
    let event = 0;
    let terminal = false;
    let lostPush = false;
    let lost = false;
    let answered = 0;
    /** The ask-head ids this session answered: a client asks each once per session (S7). */
    const heads = new Set<number>();
    const inject = (fault: Fault): void => {
      switch (fault.kind) {
        case 'close':
          socket.peerClose(false);
          return;
        case 'error':
          socket.peerClose(true);
          return;
        case 'send-throws':
          socket.sendThrows = true;
          return;
        case 'connect-throws':
          connectFailures = 2;
          socket.peerClose(false);
          return;
        case 'rebase-throws':
          target.throwOnRebase = true;
          return;
        case 'pushed-throws':
          target.throwOnPushed = true;
          return;
        case 'go-offline':
          goOffline();
          return;
        case 'offline-blip':
          goOffline();
          goOnline();
          return;
      }
    };
    let injected = false;
    const land = (fault: Fault): void => {
      if (injected) return;
      injected = true;
      inject(fault);
    };
    /** One event of the session, with the fault landing at its phase if it is this event's. */
    const at = async (act: () => void, needsSocket = true): Promise<void> => {
      const fault = plan.fault?.at === event ? plan.fault : undefined;
      event++;
      if (needsSocket && socket.readyState === 3) return;
      if (fault?.phase === 'before') land(fault);
      if (!needsSocket || socket.readyState !== 3) act();
      if (fault?.phase === 'queued') land(fault);
      await settle();
      invariant();
      for (let j = 0; held.length > 0; j++) {
        if (fault?.phase === `during-${j}`) land(fault);
        held.shift()!.release();
        await settle();
        invariant();
      }
      if (fault !== undefined) {
        land(fault);
        await settle();
        invariant();
      }
    };
    const say = (message: ServerMessage) => at(() => socket.say(message));

    await at(() => socket.opened());
    const hello = socket.sent[0];
    if (hello === undefined) return false;
    claim(hello.type === 'hello', `${hello.type} before hello`);
    if (hello.type !== 'hello') return false;
    claim(
      hello.journalId === target.journalId && hello.cursor === target.cursor,
      `hello at ${hello.journalId}:${hello.cursor}, the base is at ${target.journalId}:${target.cursor}`,
    );
    claim(
      hello.reducerHash === target.hash,
      `hello under ${hello.reducerHash}, the document runs ${target.hash}`,
    );
    const { head, applied } = coordinator;
    const welcomed =
      plan.reducer === 'older'
        ? OLDER
        : plan.reducer === 'newer' && target.hash === HASH
          ? NEWER
          : target.hash;
    waitingSocket = welcomed !== hello.reducerHash ? socket : undefined;
    await say({ type: 'welcome', journalId: JOURNAL, head, reducerHash: welcomed, appliedLsn: applied });
    const foreign = hello.journalId !== JOURNAL && (hello.journalId !== null || hello.cursor > 0);
    let from = hello.cursor;
    if (foreign || plan.snapshot) {
      from = foreign ? Math.max(0, head - plan.chunk) : Math.max(hello.cursor, head - plan.chunk);
      await say({ type: 'snapshot', image: await image(from) });
    }
    for (let lsn = from; lsn < head; lsn += plan.chunk) {
      const frames = [];
      for (let i = lsn; i < Math.min(head, lsn + plan.chunk); i++) frames.push(wireFrame(i));
      await say({ type: 'frames', frames, more: lsn + plan.chunk < head });
    }
    if (welcomed === OLDER && current() === socket && socket.open && !paused && client.state !== 'failed') {
      claim(client.state === 'waiting-for-reducer', `${client.state} under an older reducer`);
      claim(client.waitingFor?.coordinator.hash === OLDER, 'waitingFor does not name the coordinator');
    }
    /** How many messages the client had sent when each gap refusal was answered: pushes after it may repeat. */
    const rewinds: number[] = [];
    let pushedThrough = -1;
    let checked = 0;
    /** S2: a session pushes each mutation once, in lsn order, but after a gap refusal rewinds it. */
    const pushedOnce = (): void => {
      for (; checked < socket.sent.length; checked++) {
        const message = socket.sent[checked]!;
        if (message.type !== 'push' || message.mutations.length === 0) continue;
        const first = message.mutations[0]!.lsn;
        claim(
          first > pushedThrough || rewinds.some((at) => at <= checked),
          `lsn ${first} pushed again in one session (already through ${pushedThrough}), without a rewind`,
        );
        pushedThrough = Math.max(pushedThrough, message.mutations.at(-1)!.lsn);
      }
    };
    /** The coordinator answers the pushes it has not answered yet, taking what continues its marker. */
    const take = async (): Promise<void> => {
      pushedOnce();
      const pushes = socket.sent.filter((m) => m.type === 'push');
      while (answered < pushes.length) {
        const push = pushes[answered++]!;
        if (push.type !== 'push') continue;
        const gap = () => {
          pushedOnce();
          rewinds.push(socket.sent.length);
          return say({
            type: 'push-result',
            appliedLsn: coordinator.applied,
            frameLsn: null,
            rejected: [],
            refused: {
              kind: 'gap',
              message: `continues at ${coordinator.applied + 1}`,
              expectedLsn: coordinator.applied + 1,
            },
          });
        };
        if (lostPush) {
          // Refused as if it came after a push the coordinator lost: the client must send it again.
          lostPush = false;
          lost = true;
          await gap();
          continue;
        }
        const fresh = push.mutations.filter((m) => m.lsn > coordinator.applied);
        if (fresh.length === 0) {
          await say({
            type: 'push-result',
            appliedLsn: coordinator.applied,
            frameLsn: null,
            rejected: [],
            refused: null,
          });
          continue;
        }
        if (fresh[0]!.lsn !== coordinator.applied + 1) {
          claim(lost, `the client skipped lsn ${coordinator.applied + 1}`);
          await gap();
          continue;
        }
        coordinator.applied = fresh.at(-1)!.lsn;
        const lsn = coordinator.head++;
        await say({ type: 'frames', frames: [wireFrame(lsn)], more: false });
        await say({
          type: 'push-result',
          appliedLsn: coordinator.applied,
          frameLsn: lsn,
          rejected: [],
          refused: null,
        });
      }
    };
    /** Answers each ask-head of this session with the head: every frame below it was said before. */
    const answerHeads = async (): Promise<void> => {
      for (const message of socket.sent) {
        if (message.type !== 'ask-head' || heads.has(message.id)) continue;
        heads.add(message.id);
        await say({ type: 'head', id: message.id, journalId: JOURNAL, head: coordinator.head });
      }
    };
    for (const step of plan.steps) {
      switch (step.kind) {
        case 'frame': {
          const lsn = coordinator.head++;
          await say({ type: 'frames', frames: [wireFrame(lsn)], more: false });
          break;
        }
        case 'take':
          await take();
          break;
        case 'lose-push':
          lostPush = true;
          break;
        case 'mutate':
          await at(() => {
            target.mutate();
            client.pendingChanged();
          }, false);
          break;
        case 'go-offline':
          await at(goOffline, false);
          break;
        case 'go-online':
          await at(goOnline, false);
          break;
        case 'ping': {
          const before = socket.sent.length;
          await say({ type: 'ping', id: 7 });
          if (socket.open && !socket.sendThrows && client.state !== 'offline') {
            claim(
              socket.sent.slice(before).some((m) => m.type === 'pong' && m.id === 7),
              'a ping went unanswered',
            );
          }
          break;
        }
        case 'pong':
          await say({ type: 'pong', id: 3 });
          break;
        case 'ask-head':
          await at(askHead, false);
          break;
        case 'head':
          await answerHeads();
          break;
        case 'error':
          if (socket.readyState === 3) break;
          await say({ type: 'error', kind: step.error, message: 'no', retryAfterMs: null });
          if (TERMINAL.has(step.error) && client.state === 'failed') terminal = true;
          socket.peerClose(false);
          await settle();
          invariant();
          break;
      }
      if (terminal) return true;
    }
    if (final) {
      // A clean session: the coordinator takes everything the client pushes.
      lostPush = false;
      for (let i = 0; i < 5 && socket.open; i++) await take();
      await answerHeads();
      return false;
    }
    socket.peerClose(false);
    await settle();
    invariant();
    return false;
  };

  /**
   * Taken offline, the client stays so (no connect, whatever time passes) until `goOnline`, which
   * connects at once: to a socket, or (a failing connect) to a retry.
   */
  const resume = async (): Promise<void> => {
    if (!paused) return;
    const connects0 = connects;
    vi.advanceTimersByTime(10 * MAX_BACKOFF);
    await settle();
    claim(connects === connects0, 'a client taken offline reconnected');
    invariant();
    goOnline();
    await settle();
    invariant();
  };
  /** After a session: the client is offline with a retry armed, and the retry connects again. */
  const reconnect = async (): Promise<void> => {
    claim(client.state === 'offline', `${client.state} after its socket closed`);
    const sockets0 = sockets.length;
    for (let attempt = 0; sockets.length === sockets0; attempt++) {
      claim(attempt < 5, 'the retry never reconnects');
      const connects0 = connects;
      const since = Date.now();
      vi.advanceTimersToNextTimer();
      await settle();
      claim(connects === connects0 + 1, 'the next timer is not a reconnect');
      claim(Date.now() - since <= MAX_BACKOFF, `a retry ${Date.now() - since} ms later`);
      invariant();
    }
    claim(stateOf(client) === 'connecting', `${stateOf(client)} after reconnecting`);
  };

  client.start();
  await settle();
  for (const plan of run.sessions) {
    await resume();
    if (current() === undefined || !current()!.open) {
      if (current()?.readyState !== 0) await reconnect();
    }
    if (await session(plan, false)) {
      // Failed for good: no socket, no retry, the document told once.
      expect(client.state).toBe('failed');
      expect(current()?.open).toBe(false);
      expect(target.failures).toBe(1);
      vi.advanceTimersByTime(10 * MAX_BACKOFF);
      await settle();
      expect(current()?.open).toBe(false);
      await expect(client.whenLive()).rejects.toThrow();
      // Every ask settled: answered before, or rejected with the failure.
      expect(asks.filter((ask) => ask === 'waiting')).toEqual([]);
      await expect(client.askHead()).rejects.toThrow();
      return;
    }
    await settle();
    invariant();
  }
  target.throwOnRebase = false;
  target.throwOnPushed = false;
  await resume();
  if (current()?.readyState !== 0) await reconnect();
  await session({ reducer: 'own', snapshot: false, chunk: 3, steps: [], fault: undefined }, true);
  await settle();
  // Connected and syncing: live on the current open socket, caught up, every pending mutation taken.
  expect(client.state).toBe('live');
  expect(current()!.open).toBe(true);
  expect(target.violations).toEqual([]);
  if (coordinator.head > 0 || run.journal === 'other') expect(target.journalId).toBe(JOURNAL);
  expect(target.cursor).toBe(coordinator.head);
  expect(coordinator.applied).toBe(target.nextLsn - 1);
  expect(offlineWaits.every((wait) => wait === 'live')).toBe(true);
  // Every ask made, on whichever session, was asked again until answered, and answered once.
  expect(asks.filter((ask) => ask !== 'answered')).toEqual([]);
  const waiting = client.askHead();
  client.close();
  expect(client.state).toBe('closed');
  await expect(waiting).rejects.toMatchObject({ kind: 'closed' });
}

const step: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: fc.constant({ kind: 'frame' as const }), weight: 3 },
  { arbitrary: fc.constant({ kind: 'take' as const }), weight: 4 },
  { arbitrary: fc.constant({ kind: 'lose-push' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'mutate' as const }), weight: 3 },
  { arbitrary: fc.constant({ kind: 'go-offline' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'go-online' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'ping' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'pong' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'ask-head' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'head' as const }), weight: 1 },
  {
    arbitrary: fc.constantFrom(...ERROR_KINDS).map((error) => ({ kind: 'error' as const, error })),
    weight: 1,
  },
);
const plan: fc.Arbitrary<SessionPlan> = fc.record({
  reducer: fc.oneof(
    { weight: 4, arbitrary: fc.constant('own' as const) },
    { weight: 1, arbitrary: fc.constant('older' as const) },
    { weight: 1, arbitrary: fc.constant('newer' as const) },
  ),
  snapshot: fc.boolean(),
  chunk: fc.integer({ min: 1, max: 3 }),
  steps: fc.array(step, { maxLength: 6 }),
  fault: fc.option(
    fc.record({ at: fc.nat(9), phase: fc.constantFrom(...PHASES), kind: fc.constantFrom(...FAULTS) }),
    { nil: undefined, freq: 4 },
  ),
});
const runs: fc.Arbitrary<Run> = fc.record({
  journal: fc.constantFrom('none' as const, 'same' as const, 'other' as const),
  cursor: fc.integer({ min: 0, max: 3 }),
  ahead: fc.integer({ min: 0, max: 5 }),
  pending: fc.integer({ min: 0, max: 4 }),
  taken: fc.integer({ min: 0, max: 2 }),
  sessions: fc.array(plan, { minLength: 1, maxLength: 3 }),
});

describe(`the sync client under faults (seed ${SEED}: FC_SEED=${SEED} replays it)`, () => {
  beforeAll(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  });
  afterAll(() => {
    vi.useRealTimers();
  });

  test('a fault at any point of any message leaves the client live on an open socket with everything pushed, or reconnecting', async () => {
    await fc.assert(
      fc.asyncProperty(runs, async (run) => {
        vi.clearAllTimers();
        await check(run);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  }, 120_000);
});
