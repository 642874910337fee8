// A SyncClient given three coordinators, one of which owns its document (coordinator-list.ts L1–L4,
// sync-client.ts C6). Scripted coordinators answer each connection: the owner welcomes and takes pushes;
// the others redirect to the owner, redirect elsewhere (a loop), refuse with a retryable error, or are
// dead (connect throws, or the socket closes at once). A fault (the socket closing) lands at any step of
// any session, the owner's included. Whatever happens, every connection goes to a listed URL or to the
// redirect just received, a failure moves down the list, no more than MAX_REDIRECT_HOPS redirects are
// followed in a row, and once the faults stop the client ends live at the owner with every pending
// mutation taken exactly once, in order — the same guarantees as a reconnect to one coordinator.
import fc from 'fast-check';
import { expect, test } from 'vitest';
import {
  type ClientMessage,
  decodeClientMessage,
  encodeMessage,
  type ServerMessage,
} from '../protocol/codec.js';
import type { MutationEnvelope } from '../reducer/host.js';
import { CoordinatorList, MAX_REDIRECT_HOPS, REDIRECT_SETTLE_MS } from './coordinator-list.js';
import { SyncClient, type SyncTarget, type WebSocketLike } from './sync-client.js';

const SEED = Number(
  (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.FC_SEED ??
    20_261_206,
);
const URLS = ['ws://a/sync', 'ws://b/sync', 'ws://c/sync'];
const STRAY = 'ws://stray/sync';
const HASH = 'ab'.repeat(32);
const JOURNAL = 'j1';

/** What a coordinator that is not the owner does with one connection. */
type Answer =
  | 'redirect-owner'
  /** To another coordinator that does not own it either (two lease rows seen at different moments). */
  | 'redirect-other'
  | 'redirect-stray'
  | 'unavailable'
  | 'dead'
  | 'connect-throws';
/** A fault in one session: the socket closes after this many coordinator messages (0: before any). */
type Fault = number | undefined;

class FakeSocket implements WebSocketLike {
  binaryType = 'blob';
  readyState = 0;
  bufferedAmount = 0;
  readonly sent: ClientMessage[] = [];
  readonly #listeners = new Map<string, ((event: { data: unknown }) => void)[]>();
  onSend: (message: ClientMessage) => void = () => undefined;

  addEventListener(type: string, listener: (event: { data: unknown }) => void): void {
    this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener]);
  }
  send(data: Uint8Array): void {
    const message = decodeClientMessage(data);
    this.sent.push(message);
    this.onSend(message);
  }
  close(): void {
    this.readyState = 3;
  }
  open(): void {
    this.readyState = 1;
    this.#emit('open', undefined);
  }
  say(message: ServerMessage): void {
    if (this.readyState !== 1) return;
    const bytes = encodeMessage(message);
    this.#emit('message', bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  }
  drop(): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.#emit('close', undefined);
  }
  #emit(type: string, data: unknown): void {
    for (const listener of this.#listeners.get(type) ?? []) listener({ data });
  }
}

class Target implements SyncTarget {
  readonly docId = 'doc';
  readonly timelineId = 'me';
  readonly timelineSecret = 'c'.repeat(64);
  pending: MutationEnvelope[] = [];
  taken = -1;
  baseCursor() {
    return { journalId: JOURNAL, cursor: 0 };
  }
  basePage() {
    return undefined;
  }
  pendingAfter(lsn: number) {
    return this.pending.filter((m) => m.lsn > lsn);
  }
  takenLsn() {
    return this.taken;
  }
  openedThrough() {
    return Number.MAX_SAFE_INTEGER;
  }
  rebase() {}
  pushed(appliedLsn: number) {
    this.taken = Math.max(this.taken, appliedLsn);
    this.pending = this.pending.filter((m) => m.lsn > this.taken);
  }
  syncFailed() {}
}

const mutation = (lsn: number): MutationEnvelope => ({
  timelineId: 'me',
  lsn,
  timestamp: 0,
  payload: new Uint8Array([lsn % 256]),
});
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

test('CoordinatorList: a failure moves down the list (back to the URL that redirected, once, when it was at its target), allowed redirects are followed at most MAX_REDIRECT_HOPS in a row, a welcome starts the count again', () => {
  const event = fc.oneof(
    fc.constant({ kind: 'failed' as const }),
    fc.constant({ kind: 'welcomed' as const }),
    fc.constantFrom(...URLS, STRAY).map((url) => ({ kind: 'redirect' as const, url })),
  );
  fc.assert(
    fc.property(fc.array(event, { maxLength: 60 }), fc.boolean(), (events, trustStray) => {
      // Every welcome has lasted REDIRECT_SETTLE_MS by the next event (L4).
      let clock = 0;
      const list = new CoordinatorList(
        URLS,
        trustStray ? ['ws://stray'] : [],
        () => (clock += REDIRECT_SETTLE_MS),
      );
      // The model (L1–L7): the list's position, the redirects being followed, L3's one return.
      let index = 0;
      let chain: string[] = [];
      let hops = 0;
      let returned = false;
      const next = (): void => {
        chain = [];
        hops = 0;
        returned = false;
        index = (index + 1) % URLS.length;
      };
      for (const e of events) {
        if (e.kind === 'redirect') {
          const from = URLS[index]!;
          const tried = [from, ...chain, e.url];
          const refusal = list.redirected(e.url);
          const allowed = e.url !== STRAY || trustStray;
          if (!allowed) {
            expect(refusal).toMatchObject({ kind: 'redirect-refused', tried });
            next();
          } else if (hops >= MAX_REDIRECT_HOPS) {
            expect(refusal).toMatchObject({ kind: 'redirect-loop', tried });
            next();
          } else {
            expect(refusal).toBeUndefined();
            hops++;
            chain.push(e.url);
          }
        } else if (e.kind === 'failed') {
          list.failed();
          if (chain.length > 0 && !returned) {
            chain = [];
            hops = 0;
            returned = true;
          } else next();
        } else {
          list.welcomed();
          hops = 0;
          returned = false;
        }
        expect(list.current).toBe(chain.at(-1) ?? URLS[index]);
        expect(list.hops).toBe(hops);
      }
    }),
    { seed: SEED, numRuns: 500 },
  );
  expect(() => new CoordinatorList([])).toThrow(RangeError);
  expect(() => new CoordinatorList(URLS, ['http://a'])).toThrow(RangeError);
});

test('coordinators that welcome and then redirect at once (to each other or to themselves) get at most MAX_REDIRECT_HOPS redirects followed before a redirect-loop refusal; a redirect after a welcome that lasted is followed', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(
          fc.boolean(),
          fc.constantFrom(...URLS),
          fc.integer({ min: 0, max: Math.floor((REDIRECT_SETTLE_MS - 1) / 60) }),
        ),
        {
          minLength: 1,
          maxLength: 60,
        },
      ),
      (steps) => {
        // 60 steps at most: no welcome lasts REDIRECT_SETTLE_MS.
        let clock = 0;
        const list = new CoordinatorList(URLS, [], () => clock);
        let followed = 0;
        for (const [welcome, url, sooner] of steps) {
          if (welcome) list.welcomed();
          clock += sooner;
          const refusal = list.redirected(url);
          if (refusal === undefined) followed++;
          else {
            expect(refusal.kind).toBe('redirect-loop');
            expect(followed).toBe(MAX_REDIRECT_HOPS);
            followed = 0;
          }
          expect(followed).toBeLessThanOrEqual(MAX_REDIRECT_HOPS);
        }
      },
    ),
    { seed: SEED, numRuns: 300 },
  );
  // A lease that changes hands while the client is connected: its redirect comes later, and is followed.
  let clock = 0;
  const list = new CoordinatorList(URLS, [], () => clock);
  for (let i = 0; i < 3 * MAX_REDIRECT_HOPS; i++) {
    list.welcomed();
    clock += REDIRECT_SETTLE_MS;
    expect(list.redirected(URLS[i % URLS.length]!)).toBeUndefined();
  }
});

test('a failure at a redirect target goes back to the URL that redirected, once; a second one moves on from its position', () => {
  const list = new CoordinatorList(URLS);
  list.failed();
  expect(list.current).toBe(URLS[1]);
  expect(list.redirected(URLS[0]!)).toBeUndefined();
  list.failed();
  // b answered (it is alive): asked again rather than skipped for c.
  expect(list.current).toBe(URLS[1]);
  expect(list.redirected(URLS[0]!)).toBeUndefined();
  list.failed();
  expect(list.current).toBe(URLS[2]);
});

test('a redirect to an origin that is neither a listed coordinator nor in redirectOrigins is refused (redirect-refused), naming the URLs tried', () => {
  const list = new CoordinatorList(['wss://a.example/sync', 'wss://b.example/sync']);
  expect(list.redirected('wss://b.example:443/other/sync')).toBeUndefined();
  expect(list.redirected('wss://evil.example/sync')).toEqual({
    kind: 'redirect-refused',
    message: expect.stringContaining('wss://evil.example/sync'),
    tried: ['wss://a.example/sync', 'wss://b.example:443/other/sync', 'wss://evil.example/sync'],
  });
  expect(list.current).toBe('wss://b.example/sync');
  expect(new CoordinatorList(URLS).redirected('not a url')).toMatchObject({ kind: 'redirect-refused' });
  const trusting = new CoordinatorList(['wss://a.example/sync'], ['wss://c.example']);
  expect(trusting.redirected('wss://c.example/sync')).toBeUndefined();
  expect(trusting.current).toBe('wss://c.example/sync');
});

test('a SyncClient given three coordinators follows redirects to the owner and moves down its list on failures, and its pending mutations reach the owner exactly once, in order', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: 2 }),
      fc.array(
        fc.constantFrom<Answer>(
          'redirect-owner',
          'redirect-other',
          'redirect-stray',
          'unavailable',
          'dead',
          'connect-throws',
        ),
        {
          minLength: 1,
          maxLength: 30,
        },
      ),
      fc.array(fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }), { maxLength: 8 }),
      fc.integer({ min: 0, max: 12 }),
      fc.integer({ min: 0, max: 3 }),
      async (owner, answers, faults, pendingCount, taken) => {
        const target = new Target();
        target.pending = Array.from({ length: pendingCount }, (_, i) => mutation(i));
        // The owner's model: the last lsn of this timeline it took, and every lsn it was pushed.
        let marker = Math.min(taken, pendingCount) - 1;
        target.taken = marker;
        target.pending = target.pending.filter((m) => m.lsn > marker);
        const takenLsns: number[] = [];
        const connects: { url: string; redirectedTo: string | undefined }[] = [];
        let lastRedirect: string | undefined;
        let answerAt = 0;
        let faultAt = 0;
        const client = new SyncClient(target, {
          url: URLS,
          reducerHash: HASH,
          backoffMs: 1,
          maxBackoffMs: 2,
          heartbeatMs: 60_000,
          random: () => 0.5,
          connect: (url) => {
            connects.push({ url, redirectedTo: lastRedirect });
            lastRedirect = undefined;
            const isOwner = url === URLS[owner];
            const answer: Answer | undefined = isOwner ? undefined : answers[answerAt++ % answers.length];
            if (answer === 'connect-throws') throw new Error('connection refused');
            const socket = new FakeSocket();
            const fault: Fault = faultAt < faults.length ? faults[faultAt++] : undefined;
            let said = 0;
            const say = (message: ServerMessage): void => {
              if (fault !== undefined && said >= fault) {
                socket.drop();
                return;
              }
              said++;
              if (message.type === 'redirect') lastRedirect = message.url;
              socket.say(message);
            };
            socket.onSend = (message) => {
              if (message.type === 'hello') {
                queueMicrotask(() => {
                  if (answer === 'dead') socket.drop();
                  else if (answer === 'redirect-owner')
                    say({ type: 'redirect', url: URLS[owner]!, message: 'owned' });
                  else if (answer === 'redirect-stray')
                    say({ type: 'redirect', url: STRAY, message: 'stale' });
                  else if (answer === 'redirect-other') {
                    const other = URLS.find((u, i) => i !== owner && u !== url)!;
                    say({ type: 'redirect', url: other, message: 'stale' });
                  } else if (answer === 'unavailable') {
                    say({
                      type: 'error',
                      kind: 'document-unavailable',
                      message: 'not here',
                      retryAfterMs: 1,
                    });
                  } else {
                    say({
                      type: 'welcome',
                      journalId: JOURNAL,
                      head: 0,
                      reducerHash: HASH,
                      appliedLsn: marker,
                    });
                  }
                });
              } else if (message.type === 'push' && isOwner) {
                queueMicrotask(() => {
                  if (socket.readyState !== 1) return;
                  for (const m of message.mutations) {
                    // The coordinator takes a timeline's next lsn only (duplicates ignored).
                    if (m.lsn === marker + 1) {
                      marker = m.lsn;
                      takenLsns.push(m.lsn);
                    }
                  }
                  say({
                    type: 'push-result',
                    appliedLsn: marker,
                    frameLsn: null,
                    rejected: [],
                    refused: null,
                  });
                });
              }
            };
            queueMicrotask(() => {
              // A stray URL has no coordinator behind it.
              if (url === STRAY) socket.drop();
              else socket.open();
            });
            return socket;
          },
        });
        client.start();
        for (let i = 0; i < 2000 && !(client.state === 'live' && marker === pendingCount - 1); i++)
          await tick();
        client.close();
        const context = JSON.stringify({ owner, answers, faults, pendingCount, taken, connects });
        // L1–L7, replayed: an allowed redirect (never the stray one) is followed unless MAX_REDIRECT_HOPS
        // were in a row; a refused one moves to the list's next URL; any other end goes to the URL that
        // redirected (L3's return) or to the list's next one.
        let inARow = 0;
        let listIndex = 0;
        for (const [i, { url, redirectedTo }] of connects.entries()) {
          expect(url, context).not.toBe(STRAY);
          if (redirectedTo !== undefined && redirectedTo !== STRAY && inARow < MAX_REDIRECT_HOPS) {
            inARow++;
            expect(url, context).toBe(redirectedTo);
            continue;
          }
          const refused = redirectedTo !== undefined;
          inARow = 0;
          const at = URLS.indexOf(url);
          const nextIndex = (listIndex + 1) % URLS.length;
          if (i === 0) expect(at, context).toBe(0);
          else if (refused) expect(at, context).toBe(nextIndex);
          else expect([listIndex, nextIndex], context).toContain(at);
          listIndex = at;
        }
        expect(client.state, context).toBe('closed');
        // Every pending mutation taken once, in order, after the owner's marker.
        const first = Math.min(taken, pendingCount);
        expect(takenLsns, context).toEqual(Array.from({ length: pendingCount - first }, (_, i) => first + i));
      },
    ),
    { seed: SEED, numRuns: 200 },
  );
}, 120_000);

test('CoordinatorList: a redirect from wss:// to ws:// is refused and moves down the list; one to wss://, or from ws://, is followed', () => {
  const secure = new CoordinatorList(['wss://a/sync', 'wss://b/sync'], ['ws://a-owner', 'wss://owner']);
  expect(secure.redirected('ws://a-owner/sync')).toMatchObject({
    kind: 'redirect-insecure',
    tried: ['wss://a/sync', 'ws://a-owner/sync'],
  });
  expect(secure.current).toBe('wss://b/sync');
  expect(secure.redirected('wss://owner/sync')).toBeUndefined();
  expect(secure.current).toBe('wss://owner/sync');
  const plain = new CoordinatorList(['ws://a/sync'], ['wss://owner']);
  expect(plain.redirected('wss://owner/sync')).toBeUndefined();
});

/**
 * A SyncClient over `urls` whose scripted coordinators are `behave(url, socket)`'s: it opens the
 * socket (or not) and answers the hello; returns the client and the URLs it connected to.
 */
function scripted(
  urls: readonly string[],
  behave: (url: string, socket: FakeSocket) => void,
): { client: SyncClient; connects: string[] } {
  const connects: string[] = [];
  const client = new SyncClient(new Target(), {
    url: urls,
    reducerHash: HASH,
    backoffMs: 1,
    maxBackoffMs: 2,
    heartbeatMs: 20,
    random: () => 0.5,
    connect: (url) => {
      connects.push(url);
      const socket = new FakeSocket();
      behave(url, socket);
      return socket;
    },
  });
  return { client, connects };
}

const welcome: ServerMessage = {
  type: 'welcome',
  journalId: JOURNAL,
  head: 0,
  reducerHash: HASH,
  appliedLsn: -1,
};

async function live(client: SyncClient): Promise<void> {
  for (let i = 0; i < 200 && client.state !== 'live'; i++) await new Promise((r) => setTimeout(r, 10));
}

test('a coordinator whose socket never opens is given up after three heartbeats, and the client moves down its list', async () => {
  const { client, connects } = scripted(['ws://silent/sync', 'ws://b/sync'], (url, socket) => {
    if (url === 'ws://silent/sync') return;
    socket.onSend = (message) => {
      if (message.type === 'hello') queueMicrotask(() => socket.say(welcome));
    };
    queueMicrotask(() => socket.open());
  });
  client.start();
  await live(client);
  expect(client.state).toBe('live');
  expect(connects.slice(0, 2)).toEqual(['ws://silent/sync', 'ws://b/sync']);
  client.close();
});

/** A client of `urls` whose first coordinator redirects every hello to `target`; the others welcome it. */
function firstRedirects(urls: readonly string[], target: string) {
  const hellos: string[] = [];
  const scriptedClient = scripted(urls, (url, socket) => {
    socket.onSend = (message) => {
      if (message.type !== 'hello') return;
      hellos.push(url);
      queueMicrotask(() =>
        socket.say(url === urls[0] ? { type: 'redirect', url: target, message: 'owned' } : welcome),
      );
    };
    queueMicrotask(() => socket.open());
  });
  return { ...scriptedClient, hellos };
}

test('a redirect from a wss:// coordinator to a ws:// URL is never connected to: the client moves down its list', async () => {
  const { client, connects, hellos } = firstRedirects(['wss://a/sync', 'wss://b/sync'], 'ws://a-plain/sync');
  client.start();
  await live(client);
  expect(client.state).toBe('live');
  expect(connects).not.toContain('ws://a-plain/sync');
  expect(hellos).toEqual(['wss://a/sync', 'wss://b/sync']);
  client.close();
});

test('a redirect to a host that is neither a listed coordinator nor in redirectOrigins is never connected to: the client reports redirect-refused with the URLs tried and moves down its list', async () => {
  const { client, connects, hellos } = firstRedirects(['ws://a/sync', 'ws://b/sync'], 'ws://elsewhere/sync');
  const refusals: (string | undefined)[] = [];
  client.start();
  for (let i = 0; i < 200 && client.state !== 'live'; i++) {
    refusals.push(client.redirectRefused?.kind);
    await new Promise((r) => setTimeout(r, 1));
  }
  expect(client.state).toBe('live');
  expect(connects).not.toContain('ws://elsewhere/sync');
  expect(hellos).toEqual(['ws://a/sync', 'ws://b/sync']);
  expect(refusals).toContain('redirect-refused');
  // Live again: the refusal is history.
  expect(client.redirectRefused).toBeUndefined();
  client.close();
});

test('a redirect loop is a typed refusal (redirect-loop) naming every URL of the chain', async () => {
  const { client } = scripted(URLS, (url, socket) => {
    socket.onSend = (message) => {
      if (message.type !== 'hello') return;
      const next = URLS[(URLS.indexOf(url) + 1) % URLS.length]!;
      queueMicrotask(() => socket.say({ type: 'redirect', url: next, message: 'not here' }));
    };
    queueMicrotask(() => socket.open());
  });
  client.start();
  for (let i = 0; i < 200 && client.redirectRefused === undefined; i++)
    await new Promise((r) => setTimeout(r, 1));
  const refusal = client.redirectRefused;
  expect(client.lastDrop).toMatch(/^redirect-loop: /);
  client.close();
  expect(refusal?.kind).toBe('redirect-loop');
  // The listed URL, the MAX_REDIRECT_HOPS followed, and the one refused.
  expect(refusal?.tried).toHaveLength(MAX_REDIRECT_HOPS + 2);
});

for (const how of ['close', 'goOffline'] as const) {
  test(`${how}() while a redirect waits in the inbox: it is not followed, and no socket or timer is left`, async () => {
    const sockets: FakeSocket[] = [];
    const { client, connects } = scripted(URLS, (_url, socket) => {
      sockets.push(socket);
      socket.onSend = (message) => {
        if (message.type !== 'hello') return;
        // The redirect is received; the client is told to stop before its inbox handles it.
        socket.say({ type: 'redirect', url: URLS[2]!, message: 'owned' });
        client[how]();
      };
      queueMicrotask(() => socket.open());
    });
    client.start();
    await new Promise((r) => setTimeout(r, 50));
    expect(connects).toEqual([URLS[0]]);
    expect(sockets[0]!.readyState).toBe(3);
    expect(client.state).toBe(how === 'close' ? 'closed' : 'offline');
    if (how === 'goOffline') {
      // Back online, the client connects at once, where its list says (the redirect died with its session).
      client.goOnline();
      expect(connects).toEqual([URLS[0], URLS[0]]);
      client.close();
    }
  });
}
