// A receiving client's CPU per frame without sockets or other processes (issue 10, item 3): the frames
// a coordinator fans out are recorded once, then replayed into a host-node document's SyncClient
// through an in-process socket, one message every REPLAY_GAP_MS (the client's code runs cold between
// messages, as it does when frames arrive every few ms). confirm.js measures the same path over real
// sockets beside the other processes; this one isolates the client, and can profile just the frames.
//
// Recording: an in-process coordinator (data on disk) and two raw sockets: one listens from lsn 0 and
// keeps every welcome and frames message it reads; the other pushes REPLAY_FRAMES small todo creates,
// one at a time (each frame then holds one mutation, as in confirm's frames phase).
// Replaying: a child process per run opens a document on disk (no coordinator), attaches a SyncClient
// whose socket hands it the recording, and reports its CPU (user + system) per message over all but
// the first WARM messages, less the CPU of the same timers without messages. Rebase (the document's
// part of a burst) is timed apart. The document must end with every frame in its base.
//
// Usage: node dist/frame-replay.js  (BENCH_RUNS rounds, 7 by default; REPLAY_FRAMES, REPLAY_GAP_MS;
// BENCH_BASELINE=<another checkout> replays into that build's client too, alternating per round;
// REPLAY_PROFILE=<file> writes a CPU profile of the replayed frames of the first round of this build)
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createLog, startCoordinator } from '@tandem/coordinator';
import type { openDocument } from '@tandem/host-node';
import type { reducerNegotiation } from '@tandem/migrations/negotiation';
import { decodeServerMessage, encodeMessage, PROTOCOL_VERSION } from '@tandem/runtime';
import type { syncWithCoordinator } from '@tandem/runtime/sync';
import type { WebSocket } from 'ws';
import { mutation, openSocket } from './raw-pusher.js';
import { median, report } from './report.js';

const OURS = fileURLToPath(new URL('../..', import.meta.url));
const ROUNDS = Number(process.env.BENCH_RUNS ?? 7);
const FRAMES = Number(process.env.REPLAY_FRAMES ?? 1000);
const GAP_MS = Number(process.env.REPLAY_GAP_MS ?? 2);
const BASELINE = process.env.BENCH_BASELINE;
const PROFILE = process.env.REPLAY_PROFILE;
/** Messages replayed before the CPU is counted (the document's first frames, the code's first runs). */
const WARM = 100;
const DOC = 'frame-replay';

/** What a replay reports. */
interface Replayed {
  /** CPU per replayed message, less the timers' own, ms. */
  readonly cpuMs: number;
  /** Wall time in the document's rebase per message, ms. */
  readonly rebaseMs: number;
  /** Frames in the document's base at the end. */
  readonly cursor: number;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

function hello(socket: WebSocket, reducerHash: string): void {
  socket.send(
    encodeMessage({
      type: 'hello',
      protocolVersion: PROTOCOL_VERSION,
      docId: DOC,
      timelineId: randomUUID(),
      timelineSecret: randomBytes(32).toString('hex'),
      journalId: null,
      cursor: 0,
      reducerHash,
      token: null,
    }),
  );
}

/** The messages a client reading from lsn 0 receives while `FRAMES` mutations are pushed one at a time. */
async function record(reducer: string): Promise<Uint8Array[]> {
  const dataDir = await mkdtemp(join(tmpdir(), 'frame-replay-coordinator-'));
  const coordinator = await startCoordinator({
    reducer,
    port: 0,
    dataDir,
    log: createLog({ level: 'warn' }),
  });
  try {
    const url = `ws://127.0.0.1:${coordinator.port}/sync`;
    const listener = await openSocket(url);
    const recorded: Uint8Array[] = [];
    listener.on('message', (data: Buffer) => {
      const bytes = new Uint8Array(data);
      const { type } = decodeServerMessage(bytes);
      if (type === 'welcome' || type === 'frames') recorded.push(bytes);
    });
    hello(listener, coordinator.reducerHash);
    const pusher = await openSocket(url);
    let answered = (): void => undefined;
    pusher.on('message', (data: Buffer) => {
      const { type } = decodeServerMessage(new Uint8Array(data));
      if (type === 'welcome' || type === 'push-result') answered();
    });
    const answer = () => new Promise<void>((done) => (answered = done));
    const welcomed = answer();
    hello(pusher, coordinator.reducerHash);
    await welcomed;
    const timelineId = randomUUID();
    for (let lsn = 0; lsn < FRAMES; lsn++) {
      const result = answer();
      const payload = mutation(`${timelineId}-${lsn}`);
      pusher.send(encodeMessage({ type: 'push', mutations: [{ lsn, timestamp: Date.now(), payload }] }));
      await result;
    }
    // The last frames reach the listener after the pusher's last answer.
    await sleep(500);
    listener.close();
    pusher.close();
    return recorded;
  } finally {
    await coordinator.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** The part of a WHATWG WebSocket a SyncClient uses, handing it `messages` once it says hello. */
class ReplaySocket {
  binaryType = 'nodebuffer';
  readyState = 0;
  readonly bufferedAmount = 0;
  readonly #listeners = new Map<string, ((event: { data: unknown }) => void)[]>();
  readonly #welcome: Uint8Array;
  #helloed = false;

  constructor(welcome: Uint8Array) {
    this.#welcome = welcome;
    setTimeout(() => {
      this.readyState = 1;
      this.#emit('open', undefined);
    }, 0);
  }

  send(): void {
    // The first message out is the hello; pings after it go unanswered (the replay is shorter than a heartbeat).
    if (this.#helloed) return;
    this.#helloed = true;
    setTimeout(() => this.deliver(this.#welcome), 0);
  }

  close(): void {
    this.readyState = 3;
  }

  addEventListener(type: string, listener: (event: { data: unknown }) => void): void {
    this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener]);
  }

  /** A message arrives, as `ws` hands it over (a Buffer of its own). */
  deliver(bytes: Uint8Array): void {
    this.#emit('message', Buffer.from(bytes));
  }

  #emit(type: string, data: unknown): void {
    for (const listener of this.#listeners.get(type) ?? []) listener({ data });
  }
}

/** Replays the recording at `file` into the client of the checkout at `root` (a child process). */
async function replay(root: string, file: string, profile: string | undefined): Promise<Replayed> {
  const load = <T>(path: string): Promise<T> => import(pathToFileURL(join(root, path)).href) as Promise<T>;
  const host = await load<{ openDocument: typeof openDocument }>('host-node/dist/index.js');
  const sync = await load<{ syncWithCoordinator: typeof syncWithCoordinator }>('runtime/dist/sync.js');
  const migrations = await load<{ reducerNegotiation: typeof reducerNegotiation }>(
    'migrations/dist/negotiation.js',
  );
  const messages = (JSON.parse(await readFile(file, 'utf8')) as string[]).map(
    (base64) => new Uint8Array(Buffer.from(base64, 'base64')),
  );
  const dataDir = await mkdtemp(join(tmpdir(), 'frame-replay-client-'));
  const document = await host.openDocument({
    docId: DOC,
    reducer: join(root, 'reducers/todo/dist/reducer.wasm'),
    dataDir,
  });
  let counting = false;
  let rebaseMs = 0;
  const rebase = document.rebase.bind(document);
  document.rebase = (update) => {
    const start = performance.now();
    try {
      rebase(update);
    } finally {
      if (counting) rebaseMs += performance.now() - start;
    }
  };
  let socket: ReplaySocket | undefined;
  sync.syncWithCoordinator(
    document,
    document.reducer.hash,
    { coordinatorUrl: 'ws://replay.invalid/sync' },
    () => {
      socket = new ReplaySocket(messages[0]!);
      return socket;
    },
    migrations.reducerNegotiation,
  );
  await sleep(200);
  const session = profile === undefined ? undefined : new Session();
  let cpu = { user: 0, system: 0 };
  for (let i = 1; i < messages.length; i++) {
    if (i === WARM) {
      await sleep(50);
      if (session !== undefined) {
        session.connect();
        await session.post('Profiler.enable');
        await session.post('Profiler.setSamplingInterval', { interval: 100 });
        await session.post('Profiler.start');
      }
      counting = true;
      cpu = process.cpuUsage();
    }
    socket!.deliver(messages[i]!);
    await sleep(GAP_MS);
  }
  await sleep(50);
  const used = process.cpuUsage(cpu);
  counting = false;
  if (session !== undefined && profile !== undefined) {
    const { profile: taken } = await session.post('Profiler.stop');
    await writeFile(profile, JSON.stringify(taken));
  }
  // The timers alone, to take out of the figure.
  const idle = process.cpuUsage();
  for (let i = WARM; i < messages.length; i++) await sleep(GAP_MS);
  const timers = process.cpuUsage(idle);
  const counted = messages.length - WARM;
  const cursor = document.baseCursor().cursor;
  await document.close();
  await rm(dataDir, { recursive: true, force: true });
  return {
    cpuMs: (used.user + used.system - timers.user - timers.system) / 1000 / counted,
    rebaseMs: rebaseMs / counted,
    cursor,
  };
}

function child(root: string, file: string, profile: string | undefined): Promise<Replayed> {
  const process: ChildProcess = fork(fileURLToPath(import.meta.url), ['replay', root, file, profile ?? ''], {
    env: { ...globalThis.process.env, TANDEM_LOG_LEVEL: 'warn' },
  });
  return new Promise((done, fail) => {
    process.once('message', (reply: Replayed) => done(reply));
    process.once('exit', (code) => fail(new Error(`a replay exited with code ${code}`)));
  });
}

async function main(): Promise<void> {
  const folder = await mkdtemp(join(tmpdir(), 'frame-replay-'));
  try {
    const recorded = await record(join(OURS, 'reducers/todo/dist/reducer.wasm'));
    const file = join(folder, 'recording.json');
    await writeFile(file, JSON.stringify(recorded.map((bytes) => Buffer.from(bytes).toString('base64'))));
    const frames = recorded.length - 1;
    const builds = [OURS, ...(BASELINE === undefined ? [] : [resolve(BASELINE)])];
    const results = new Map<string, Replayed[]>(builds.map((root) => [root, []]));
    for (let round = 0; round < ROUNDS; round++) {
      // The baseline first in odd rounds: neither build always runs after the other.
      for (const root of round % 2 === 0 ? builds : [...builds].reverse()) {
        const result = await child(root, file, round === 0 && root === OURS ? PROFILE : undefined);
        if (result.cursor !== frames) {
          throw new Error(`${root}: the document took ${result.cursor} of ${frames} frames`);
        }
        results.get(root)!.push(result);
      }
    }
    console.log(
      `# frame-replay: load average ${loadavg()[0]!.toFixed(1)}; ${frames} frames messages of one todo create each, one every ${GAP_MS} ms, the first ${WARM} not counted; median of ${ROUNDS} rounds, Node ${process.version}`,
    );
    for (const [root, runs] of results) {
      const cpu = runs.map((run) => run.cpuMs);
      report(
        `frame-replay: client CPU per frame${root === OURS ? '' : ' (baseline)'}`,
        median(cpu),
        'ms',
        `rebase ${median(runs.map((run) => run.rebaseMs)).toFixed(3)} ms; rounds ${cpu.map((ms) => ms.toFixed(3)).join(' ')}${root === OURS ? '' : `; ${root}`}`,
      );
    }
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'replay') {
  const [root, file, profile] = process.argv.slice(3) as [string, string, string];
  const result = await replay(root, file, profile === '' ? undefined : profile);
  process.send?.(result, () => process.exit(0));
} else {
  await main();
}
