// Raw protocol pushers for the confirm bench: WebSocket clients that speak the sync protocol by hand
// (hello, then pushes of one small todo create), with no document of their own, so that the clients are
// not what a figure measures.
import { randomBytes, randomUUID } from 'node:crypto';
import {
  decodeServerMessage,
  encodeMessage,
  PROTOCOL_VERSION,
  protocolLimits,
  type ServerMessage,
} from '@tandem/runtime';
import { WebSocket } from 'ws';

export const mutation = (id: string) =>
  new TextEncoder().encode(JSON.stringify({ type: 'create', id, title: `a small todo ${id.slice(-6)}` }));

export function openSocket(url: string): Promise<WebSocket> {
  const socket = new WebSocket(url, { maxPayload: protocolLimits.MAX_MESSAGE_BYTES });
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
}

function hello(socket: WebSocket, docId: string, timelineId: string, reducerHash: string): void {
  socket.send(
    encodeMessage({
      type: 'hello',
      protocolVersion: PROTOCOL_VERSION,
      docId,
      timelineId,
      timelineSecret: randomBytes(32).toString('hex'),
      journalId: null,
      cursor: 0,
      reducerHash,
      token: null,
    }),
  );
}

/** Pushes the one mutation `lsn` of `timelineId`. */
function pushOne(socket: WebSocket, timelineId: string, lsn: number): void {
  socket.send(
    encodeMessage({
      type: 'push',
      mutations: [{ lsn, timestamp: Date.now(), payload: mutation(`${timelineId}-${lsn}`) }],
    }),
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function pusher(
  url: string,
  echo: boolean,
  reducerHash: string,
  docId: string,
): Promise<{ confirmed(): number; stop(): void }> {
  const socket = await openSocket(url);
  const timelineId = randomUUID();
  let lsn = 0;
  let confirmed = 0;
  let stopped = false;
  const push = (): void => {
    if (stopped) return;
    pushOne(socket, timelineId, lsn++);
  };
  let live: () => void = () => undefined;
  const welcomed = new Promise<void>((resolve) => {
    live = resolve;
  });
  socket.on('message', (data: Buffer) => {
    if (echo) {
      confirmed++;
      push();
      return;
    }
    const message: ServerMessage = decodeServerMessage(
      new Uint8Array(data.buffer, data.byteOffset, data.length),
    );
    if (message.type === 'welcome') live();
    else if (message.type === 'push-result') {
      if (message.refused !== null || message.rejected.length > 0)
        throw new Error(`push refused or rejected`);
      confirmed++;
      push();
    } else if (message.type === 'error') throw new Error(`coordinator error: ${message.message}`);
  });
  if (echo) live();
  else {
    hello(socket, docId, timelineId, reducerHash);
  }
  await welcomed;
  for (let i = 0; i < protocolLimits.MAX_PUSHES_IN_FLIGHT; i++) push();
  return {
    confirmed: () => confirmed,
    stop: () => {
      stopped = true;
      socket.close();
    },
  };
}

/**
 * Pushes `count` mutations to `docId` one at a time, each after the previous one's result; returns each
 * push's round trip (sent → its push-result read), ms: the coordinator's serial path with no client's
 * own work in it.
 */
export async function pacedPusher(
  url: string,
  reducerHash: string,
  count: number,
  intervalMs: number,
  docId: string,
): Promise<number[]> {
  const socket = await openSocket(url);
  const timelineId = randomUUID();
  let answered: () => void = () => undefined;
  socket.on('message', (data: Buffer) => {
    const message = decodeServerMessage(new Uint8Array(data.buffer, data.byteOffset, data.length));
    if (message.type === 'error') throw new Error(`coordinator error: ${message.message}`);
    if (message.type === 'welcome' || message.type === 'push-result') answered();
  });
  const answer = () =>
    new Promise<void>((resolve) => {
      answered = resolve;
    });
  const welcomed = answer();
  hello(socket, docId, timelineId, reducerHash);
  await welcomed;
  let next = performance.now();
  const roundTrips: number[] = [];
  for (let lsn = 0; lsn < count; lsn++) {
    const wait = next - performance.now();
    if (wait > 0) await sleep(wait);
    next = Math.max(next + intervalMs, performance.now());
    const result = answer();
    const start = performance.now();
    pushOne(socket, timelineId, lsn);
    await result;
    roundTrips.push(performance.now() - start);
  }
  socket.close();
  return roundTrips;
}

/**
 * Says hello to `docId` as a new timeline and takes its catch-up; resolves once the socket has been
 * quiet for 300 ms, with the count of messages it has read so far. From then on it only reads what
 * comes (the floor of a receiving client's CPU).
 */
export async function listenQuietly(url: string, reducerHash: string, docId: string): Promise<() => number> {
  const socket = await openSocket(url);
  let heard = performance.now();
  let messages = 0;
  socket.on('message', () => {
    heard = performance.now();
    messages++;
  });
  hello(socket, docId, randomUUID(), reducerHash);
  // A ping as often as a client's heartbeat: a peer that says nothing is closed as silent.
  let id = 0;
  setInterval(() => socket.send(encodeMessage({ type: 'ping', id: id++ })), 10_000).unref();
  do await sleep(300);
  while (performance.now() - heard < 300);
  return () => messages;
}
