// Claims about what a client may send: nothing a client sends may fail a document. A message the
// coordinator cannot take is refused for that connection only (a typed error and a close, or a
// push-result that refuses it), while every other client of the document goes on.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  encodeMessage,
  type Hello,
  PROTOCOL_VERSION,
  type Push,
  protocolLimits,
  type ServerMessage,
} from '@tandem/runtime';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type Coordinator, startCoordinator } from './server.js';
import { TestSyncClient } from './testing/sync-client.js';

const SEED = Number(process.env.FC_SEED ?? 20_261_204);
const reducer = new Uint8Array(
  await readFile(new URL('../../reducers/todo/dist/reducer.wasm', import.meta.url)),
);
let coordinator: Coordinator;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tandem-push-bounds-'));
  coordinator = await startCoordinator({ reducer, dataDir, port: 0, workers: 1 });
  // The first document of a worker loads (and meters) the reducer: seconds on a loaded machine, past
  // the test client's wait for a welcome.
  await coordinator.pageHash('warm-up');
}, 60_000);
afterAll(async () => {
  await coordinator.close();
  await rm(dataDir, { recursive: true, force: true });
});

let timelines = 0;
/** A fresh timeline and the secret that binds it. */
function timeline(): Pick<Hello, 'timelineId' | 'timelineSecret'> {
  const n = ++timelines;
  return { timelineId: `timeline-${n}`, timelineSecret: n.toString(16).padStart(32, '0') };
}

const todo = (lsn: number, timestamp = 1_700_000_000_000, id = `t${lsn}`): Push['mutations'][number] => ({
  lsn,
  timestamp,
  payload: new TextEncoder().encode(JSON.stringify({ type: 'create', id, title: 't' })),
});

/** What became of a hostile exchange: the error it got, a push-result (or welcome), or a close. */
async function outcome(
  client: TestSyncClient,
  awaited: 'push-result' | 'welcome',
): Promise<{ error?: ServerMessage; result?: ServerMessage; code?: number }> {
  const settled = await Promise.race([
    client.next(awaited).then(
      (result) => ({ result }),
      () => client.closed.then(({ code }) => ({ code })),
    ),
    client.closed.then(({ code }) => ({ code })),
  ]);
  const error = client.received.find((m) => m.type === 'error');
  return { ...settled, ...(error && { error }) };
}

/** The honest client of a document: pushes one todo after another and expects each confirmed. */
class Honest {
  #lsn = 0;
  private constructor(readonly client: TestSyncClient) {}

  static async join(docId: string): Promise<Honest> {
    const client = await TestSyncClient.connect(coordinator.url, { docId, ...timeline() });
    await client.next('welcome');
    return new Honest(client);
  }

  /**
   * Pushes the next todo; resolves once the coordinator confirmed it. A hostile push of many MiB in the
   * same step can take longer than the test client's wait, so it waits again while connected.
   */
  async push(): Promise<void> {
    const lsn = this.#lsn++;
    const from = this.client.received.length;
    this.client.send({ type: 'push', mutations: [todo(lsn, Date.now(), `honest-${lsn}`)] });
    const deadline = Date.now() + 120_000;
    for (;;) {
      try {
        const result = await this.client.next('push-result', (r) => r.appliedLsn >= lsn, from);
        expect(result).toMatchObject({ appliedLsn: lsn, rejected: [], refused: null });
        return;
      } catch (error) {
        if (this.client.socket.readyState !== this.client.socket.OPEN || Date.now() > deadline) throw error;
      }
    }
  }

  connected(): void {
    expect(this.client.received.filter((m) => m.type === 'error')).toEqual([]);
    expect(this.client.socket.readyState).toBe(this.client.socket.OPEN);
  }
}

test('a push with timestamp −5 is refused for its connection only: the document and its other clients go on', async () => {
  const docId = 'negative-timestamp';
  const honest = await Honest.join(docId);
  const hostile = await TestSyncClient.connect(coordinator.url, { docId, ...timeline() });
  await hostile.next('welcome');

  hostile.socket.send(encodeMessage({ type: 'push', mutations: [todo(0, -5)] }));
  expect(await outcome(hostile, 'push-result')).toMatchObject({
    error: { type: 'error', kind: 'malformed' },
    code: 1008,
  });

  await honest.push();
  honest.connected();
  await honest.client.close();
});

// ---- the fuzz: every field of hello and push at and beyond its bounds ----

const MAX_PAYLOAD = protocolLimits.MAX_PAYLOAD_BYTES;
const SAFE = Number.MAX_SAFE_INTEGER;

/** Integers and non-integers at and beyond the bounds of an lsn or a timestamp. */
const edgeNumber = fc.oneof(
  fc.constantFrom(0, 1, -1, -5, SAFE, SAFE + 1, -SAFE, 2 ** 63, 1.5, -0.5, 1e300, Number.NaN, Infinity),
  fc.integer(),
  fc.double(),
);
/** A payload length at, below and past the bound. */
const payloadSize = fc.constantFrom(0, 1, 64, MAX_PAYLOAD - 1, MAX_PAYLOAD, MAX_PAYLOAD + 1);
const payload = fc.oneof(
  { weight: 6, arbitrary: fc.constant(todo(0).payload) },
  { weight: 2, arbitrary: payloadSize.map((n) => new Uint8Array(n).fill(0x7b)) },
  { weight: 1, arbitrary: fc.oneof(fc.string(), fc.constant(null), fc.integer()) },
);
/** A mutation with each field mostly valid, sometimes at or past a bound; sometimes a key more or less. */
const mutation = fc
  .tuple(
    fc.record({
      lsn: fc.oneof({ weight: 6, arbitrary: fc.nat(3) }, { weight: 1, arbitrary: edgeNumber }),
      timestamp: fc.oneof({ weight: 6, arbitrary: fc.nat() }, { weight: 1, arbitrary: edgeNumber }),
      payload,
    }),
    fc.oneof(
      { weight: 12, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.constantFrom('extra', 'lsn', 'timestamp', 'payload') },
    ),
  )
  .map(([m, change]): Record<string, unknown> => {
    if (change === undefined) return m;
    if (change === 'extra') return { ...m, extra: 1 };
    const { [change]: _dropped, ...rest } = m;
    return rest;
  });
/** The count of mutations in a push, at and beyond its bounds (few of the largest payloads). */
const mutations = fc.oneof(
  { weight: 8, arbitrary: fc.array(mutation, { minLength: 0, maxLength: 4 }) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(protocolLimits.MAX_PUSH_MUTATIONS, protocolLimits.MAX_PUSH_MUTATIONS + 1)
      .map((n) => Array.from({ length: n }, (_, i) => todo(i))),
  },
  {
    // Around the bytes a connection may have in flight (16 MiB) and the largest message (64 MiB).
    weight: 1,
    arbitrary: fc
      .constantFrom(15, 17, 65)
      .map((n) =>
        Array.from({ length: n }, (_, i) => ({ ...todo(i), payload: new Uint8Array(MAX_PAYLOAD) })),
      ),
  },
);
const push = fc.record({ type: fc.constant('push'), mutations });

/** Ids inside the bounds, the longest ones and those that are not file names included. */
const validId = fc.oneof(
  fc.constantFrom(
    'a',
    'a'.repeat(256),
    'é'.repeat(256),
    '\u{1F600}'.repeat(128),
    '../..',
    '/',
    '.',
    'CON',
    ' ',
  ),
  fc.string({ minLength: 1, maxLength: 256, unit: 'grapheme' }),
);
/** Ids past the bounds: empty, 257 characters, lone surrogates, not strings. */
const invalidId = fc.constantFrom('', 'a'.repeat(257), '\uD800', 'x\uDC00y', 1, null);
const id = fc.oneof({ weight: 3, arbitrary: validId }, { weight: 1, arbitrary: invalidId });
/** Mostly valid, sometimes not. */
const mostly = <T, U>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<U>) =>
  fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: invalid });
const helloFields = fc.record(
  {
    protocolVersion: mostly(fc.constant(3), fc.constantFrom(0, 2, 4, -1, 2 ** 40, 1.5)),
    docId: id,
    timelineId: id,
    journalId: fc.oneof(fc.constant(null), id),
    cursor: mostly(fc.nat(), edgeNumber),
    token: mostly(fc.constantFrom(null, '', 'x'.repeat(4096)), fc.constantFrom('x'.repeat(4097), 7)),
    // The coordinator's own reducer (a push under another is refused, sync-connection.ts invariant 10), or no SHA-256.
    reducerHash: mostly(
      fc.constant(null).map(() => coordinator.reducerHash),
      fc.constantFrom('0'.repeat(63), 'g'.repeat(64)),
    ),
    timelineSecret: mostly(fc.constant('f'.repeat(128)), fc.constantFrom('0'.repeat(31), 'Z'.repeat(32))),
  },
  { requiredKeys: [] },
);

/** One hostile connection: a hello (perhaps bad, perhaps for another document), then perhaps a push. */
const hostile = fc.record({
  hello: fc.option(helloFields, { nil: undefined, freq: 2 }),
  push: fc.option(push, { nil: undefined }),
});

/** The test's own statement of the domain (mutation-bounds.ts states it for the code). */
function mutationInDomain(m: Record<string, unknown>): boolean {
  const keys = Object.keys(m).sort().join();
  const bytes = m.payload;
  return (
    keys === 'lsn,payload,timestamp' &&
    Number.isSafeInteger(m.lsn) &&
    (m.lsn as number) >= 0 &&
    Number.isSafeInteger(m.timestamp) &&
    (m.timestamp as number) >= 0 &&
    bytes instanceof Uint8Array &&
    bytes.length <= MAX_PAYLOAD
  );
}

test('no push or hello, whatever its fields, fails a document: each bad one gets a typed error, the honest client goes on', async () => {
  const docId = 'fuzzed';
  const honest = await Honest.join(docId);
  const refusals = new Map<string, number>();
  const count = (what: string) => refusals.set(what, (refusals.get(what) ?? 0) + 1);
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(hostile, { minLength: 1, maxLength: 4 }), async (sessions) => {
        for (const session of sessions) {
          const own = timeline();
          const client = await TestSyncClient.open(coordinator.url);
          const helloFuzzed = session.hello !== undefined;
          client.send({
            type: 'hello',
            protocolVersion: PROTOCOL_VERSION,
            docId,
            journalId: null,
            cursor: 0,
            reducerHash: coordinator.reducerHash,
            token: null,
            ...own,
            ...session.hello,
          } as Hello);
          // The hello's answer: a welcome, or a typed error and a close; never a failed document.
          const answer = await outcome(client, 'welcome');
          const helloError = answer.error?.type === 'error' ? answer.error.kind : undefined;
          expect(helloError).not.toBe('internal');
          if (answer.result === undefined) {
            expect(helloError).toBeDefined();
            expect(answer.code).toBe(1008);
            count(`hello: ${helloError}`);
            continue;
          }
          if (!helloFuzzed) expect(answer.result).toMatchObject({ type: 'welcome' });
          if (session.push === undefined) {
            count('hello: welcome');
            await client.close();
            continue;
          }
          const bytes = encodeMessage(session.push as Push);
          client.socket.send(bytes);
          // The honest client's push runs alongside the hostile one (often in the same transaction).
          const [confirmed, settled] = await Promise.allSettled([
            honest.push(),
            outcome(client, 'push-result'),
          ]);
          if (confirmed.status === 'rejected') throw confirmed.reason;
          if (settled.status === 'rejected') throw settled.reason;
          const { error, result, code } = settled.value;

          const kind = error?.type === 'error' ? error.kind : undefined;
          const tooBig = bytes.length > protocolLimits.MAX_MESSAGE_BYTES;
          const pushIsValid =
            session.push.mutations.length >= 1 &&
            session.push.mutations.length <= protocolLimits.MAX_PUSH_MUTATIONS &&
            session.push.mutations.every(mutationInDomain);
          expect(kind).not.toBe('internal');
          if (tooBig) expect(code).toBe(1009);
          else if (!pushIsValid) expect({ kind, code }).toEqual({ kind: 'malformed', code: 1008 });
          else if (kind === undefined) expect(result).toMatchObject({ type: 'push-result' });
          // More bytes awaiting their result than a connection may have.
          else expect({ kind, code }).toEqual({ kind: 'quota', code: 1008 });
          const refused = result?.type === 'push-result' ? result.refused?.kind : undefined;
          count(
            tooBig
              ? 'push: too big (1009)'
              : kind !== undefined
                ? `push: ${kind}`
                : refused !== undefined
                  ? `push refused: ${refused}`
                  : 'push: taken',
          );
          await client.close();
        }
        honest.connected();
      }),
      { seed: SEED, numRuns: 15, endOnFailure: true },
    );
  } finally {
    console.log(`seed ${SEED} (FC_SEED replays it); hostile outcomes:`, Object.fromEntries(refusals));
  }
  honest.connected();
  await honest.client.close();
}, 300_000);
