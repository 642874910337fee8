import { readFile } from 'node:fs/promises';
import {
  encodeKeyedMessage,
  encodeMessage,
  PROTOCOL_VERSION,
  type Push,
  protocolLimits,
  type ServerMessage,
} from '@tandem/runtime';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { WebSocket } from 'ws';
import { type Coordinator, startCoordinator } from './server.js';
import { TestSyncClient } from './testing/sync-client.js';

const reducer = new Uint8Array(
  await readFile(new URL('../../reducers/todo/dist/reducer.wasm', import.meta.url)),
);
const revoked = new Set<string>();
let coordinator: Coordinator;
let docs = 0;

beforeAll(async () => {
  coordinator = await startCoordinator({
    reducer,
    port: 0,
    workers: 1,
    authorize: async (docId, token, timelineId) =>
      !revoked.has(docId) &&
      (!docId.startsWith('private/') || token === 'secret') &&
      (!docId.startsWith('owned/') || timelineId === `timeline-of-${token}`),
  });
});
afterAll(() => coordinator.close());

const push = (lsn: number): Push => ({
  type: 'push',
  mutations: [
    {
      lsn,
      timestamp: 1_700_000_000_000,
      payload: new TextEncoder().encode(JSON.stringify({ type: 'create', id: `t${lsn}`, title: 't' })),
    },
  ],
});

/** The error the coordinator sent and the close that followed. */
async function refusal(client: TestSyncClient): Promise<{ error: ServerMessage | undefined; code: number }> {
  const { code } = await client.closed;
  return { error: client.received.find((m) => m.type === 'error'), code };
}

const hello = encodeMessage({
  type: 'hello',
  protocolVersion: PROTOCOL_VERSION,
  docId: 'garbage-target',
  timelineId: 't',
  timelineSecret: '5'.repeat(64),
  journalId: null,
  cursor: 0,
  reducerHash: '0'.repeat(64),
  token: null,
});

test.each([
  ['random bytes', new Uint8Array([0xc1, 0x00, 0xff, 0x13, 0x37])],
  ['a truncated hello', hello.subarray(0, hello.length - 7)],
  [
    'a message only the coordinator sends',
    encodeMessage({ type: 'welcome', journalId: 'j', head: 0, reducerHash: '0'.repeat(64), appliedLsn: -1 }),
  ],
  ['an empty message', new Uint8Array(0)],
])('%s gets a malformed error and a close, and the coordinator goes on', async (_what, bytes) => {
  const client = await TestSyncClient.open(coordinator.url);
  client.socket.send(bytes);
  expect(await refusal(client)).toMatchObject({ error: { type: 'error', kind: 'malformed' }, code: 1008 });
  const next = await TestSyncClient.connect(coordinator.url, { docId: `protocol-${++docs}` });
  await next.next('welcome');
  await next.close();
});

test('a text message gets a malformed error and a close', async () => {
  const client = await TestSyncClient.open(coordinator.url);
  client.socket.send('{"type":"hello"}');
  expect(await refusal(client)).toMatchObject({ error: { kind: 'malformed' }, code: 1008 });
});

test('a push with one bad mutation is refused whole as malformed, and nothing of it is applied', async () => {
  const docId = `protocol-${++docs}`;
  const client = await TestSyncClient.connect(coordinator.url, { docId });
  await client.next('welcome');
  const hash = await coordinator.pageHash(docId);
  const bad = push(0);
  client.socket.send(
    encodeMessage({
      ...bad,
      mutations: [...bad.mutations, { lsn: 1, timestamp: 0.5, payload: new Uint8Array(1) }],
    }),
  );
  expect(await refusal(client)).toMatchObject({ error: { kind: 'malformed' }, code: 1008 });
  expect(await coordinator.pageHash(docId)).toBe(hash);
  const again = await TestSyncClient.connect(coordinator.url, { docId });
  expect(await again.next('welcome')).toMatchObject({ appliedLsn: -1 });
  await again.close();
});

test('a push before hello, and a second hello, are unexpected: an error and a close', async () => {
  const early = await TestSyncClient.open(coordinator.url);
  early.send(push(0));
  expect(await refusal(early)).toMatchObject({ error: { kind: 'unexpected' }, code: 1008 });

  const twice = await TestSyncClient.connect(coordinator.url, { docId: `protocol-${++docs}` });
  await twice.next('welcome');
  twice.socket.send(hello);
  expect(await refusal(twice)).toMatchObject({ error: { kind: 'unexpected' }, code: 1008 });
});

test.each([
  ['a version from the future', 99],
  ['v1 (raw pages), which no coordinator speaks since deltas', 1],
  ['v3 (keyed messages, XOR deltas), which no coordinator speaks since v4', 3],
])(
  'a protocol version outside the supported range (%s) is refused as unsupported-version',
  async (_what, protocolVersion) => {
    const client = await TestSyncClient.connect(coordinator.url, { docId: 'v', protocolVersion });
    expect(await refusal(client)).toMatchObject({ error: { kind: 'unsupported-version' }, code: 1008 });
  },
);

test('a message over the size limit closes the connection as too big (1009)', async () => {
  const client = await TestSyncClient.open(coordinator.url);
  client.socket.send(new Uint8Array(protocolLimits.MAX_MESSAGE_BYTES + 1));
  expect((await client.closed).code).toBe(1009);
});

test('a token the authorize hook refuses gets unauthorized and a close; a granted one is welcomed', async () => {
  const refused = await TestSyncClient.connect(coordinator.url, { docId: 'private/a', token: 'guess' });
  expect(await refusal(refused)).toMatchObject({ error: { kind: 'unauthorized' }, code: 1008 });
  const granted = await TestSyncClient.connect(coordinator.url, { docId: 'private/a', token: 'secret' });
  await granted.next('welcome');
  await granted.close();
});

test('a push after the document’s grant is revoked gets unauthorized and changes nothing', async () => {
  const docId = `protocol-${++docs}`;
  const client = await TestSyncClient.connect(coordinator.url, { docId });
  await client.next('welcome');
  const hash = await coordinator.pageHash(docId);
  revoked.add(docId);
  client.send(push(0));
  expect(await refusal(client)).toMatchObject({ error: { kind: 'unauthorized' }, code: 1008 });
  expect(await coordinator.pageHash(docId)).toBe(hash);
});

test('a push from a client that said another reducer in hello is refused and changes nothing; under the document’s reducer it applies', async () => {
  const docId = `protocol-${++docs}`;
  const other = '0'.repeat(64);
  const client = await TestSyncClient.connect(coordinator.url, { docId, reducerHash: other });
  expect(await client.next('welcome')).toMatchObject({ reducerHash: coordinator.reducerHash });
  const hash = await coordinator.pageHash(docId);
  client.send(push(0));
  const { error, code } = await refusal(client);
  expect({ error, code }).toMatchObject({ error: { kind: 'unexpected' }, code: 1008 });
  expect(error?.type === 'error' && error.message).toContain(`a push under reducer ${other}`);
  expect(await coordinator.pageHash(docId)).toBe(hash);
  const right = await TestSyncClient.connect(coordinator.url, { docId });
  await right.next('welcome');
  right.send(push(0));
  expect(await right.next('push-result')).toMatchObject({ appliedLsn: 0, refused: null });
  await right.close();
});

test('a silent connection is closed, and one that pings is answered and kept', async () => {
  const impatient = await startCoordinator({ reducer, port: 0, workers: 1, silenceMs: 400 });
  const silent = await TestSyncClient.open(impatient.url);
  const pinging = await TestSyncClient.open(impatient.url);
  const started = Date.now();
  let id = 0;
  const timer = setInterval(() => pinging.send({ type: 'ping', id: id++ }), 100);
  try {
    expect((await silent.closed).code).toBe(4000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(pinging.socket.readyState).toBe(pinging.socket.OPEN);
    expect(await pinging.next('pong', (m) => m.id === 3)).toEqual({ type: 'pong', id: 3 });
  } finally {
    clearInterval(timer);
  }
  await pinging.close();
  await impatient.close();
});

test('the coordinator still serves after every kind of bad input', async () => {
  const response = await fetch(`${coordinator.url}/health`);
  expect(await response.json()).toMatchObject({ status: 'ok' });
});

test('the authorize hook sees the timeline: a token may be bound to its own timeline only', async () => {
  const other = await TestSyncClient.connect(coordinator.url, {
    docId: 'owned/a',
    token: 'alice',
    timelineId: 'timeline-of-bob',
  });
  expect(await refusal(other)).toMatchObject({ error: { kind: 'unauthorized' }, code: 1008 });
  const own = await TestSyncClient.connect(coordinator.url, {
    docId: 'owned/a',
    token: 'alice',
    timelineId: 'timeline-of-alice',
  });
  await own.next('welcome');
  await own.close();
});

test('a client of protocol v3 (keyed messages) hears unsupported-version in the keyed form it reads', async () => {
  const socket = new WebSocket(`${coordinator.url.replace('http', 'ws')}/sync`);
  await new Promise((resolve) => socket.once('open', resolve));
  const answer = new Promise<Uint8Array>((resolve) =>
    socket.once('message', (data: Buffer) => resolve(data)),
  );
  const closed = new Promise<number>((resolve) => socket.once('close', resolve));
  const v3Hello = {
    type: 'hello',
    protocolVersion: 3,
    docId: 'old-client',
    timelineId: 't',
    timelineSecret: '5'.repeat(64),
    journalId: null,
    cursor: 0,
    reducerHash: '0'.repeat(64),
    token: null,
  };
  socket.send(encodeKeyedMessage(v3Hello as unknown as ServerMessage));
  const bytes = await answer;
  // A msgpack map (what v3 decodes), naming the kind v3 takes as final.
  expect(bytes[0]! & 0xf0).toBe(0x80);
  expect(Buffer.from(bytes).includes('unsupported-version')).toBe(true);
  expect(await closed).toBe(1008);
});

test('ask-head is answered with the journal and head after every frame below it; before hello it is unexpected', async () => {
  const early = await TestSyncClient.open(coordinator.url);
  early.send({ type: 'ask-head', id: 1 });
  expect(await refusal(early)).toMatchObject({ error: { kind: 'unexpected' }, code: 1008 });

  const docId = `protocol-${++docs}`;
  const writer = await TestSyncClient.connect(coordinator.url, { docId });
  const { journalId, head } = await writer.next('welcome');
  // Asked right behind the hello, before the catch-up was sent: answered after it.
  const reader = await TestSyncClient.connect(coordinator.url, { docId, timelineId: 'reader' });
  reader.send({ type: 'ask-head', id: 7 });
  expect(await reader.next('head')).toEqual({ type: 'head', id: 7, journalId, head });
  writer.send(push(0));
  await writer.next('push-result');
  reader.send({ type: 'ask-head', id: 8 });
  const answer = await reader.next('head', (m) => m.id === 8);
  const before = reader.received.slice(0, reader.received.indexOf(answer));
  const lastFrame = before.flatMap((m) => (m.type === 'frames' ? m.frames : [])).at(-1);
  expect(lastFrame?.lsn).toBeGreaterThanOrEqual(head);
  expect(answer).toEqual({ type: 'head', id: 8, journalId, head: lastFrame!.lsn + 1 });
  await Promise.all([writer.close(), reader.close()]);
});
