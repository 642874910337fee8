// The confirm path (issue 10, must-show 3), every party in its own process: a coordinator (data on
// disk, fsync), ten host-node clients (documents on disk) and a process of raw protocol pushers.
// - mutate → confirmed: each client awaits `fate` of its own mutation before the next (closed loop:
//   one mutation in flight per client), all on one document, at a user's pace: a client starts a
//   mutation at most every CONFIRM_INTERVAL_MS (50 ms: 20 a second, each client's phase random), as an
//   app's user does; beside it the floor, the same processes in the same loop of WebSocket round trips
//   of the same size to an echo server. A second pair of lines runs the loop without a pause (every
//   client mutating as fast as its confirmations come back: the clients' CPU is then the bound).
// - confirmed mutations/s on one document: raw pushers (hello, then pushes of one small mutation,
//   MAX_PUSHES_IN_FLIGHT in flight per connection, frames read and dropped) against the coordinator,
//   and against the echo server (the floor: how many round trips of that size the pushers and the
//   socket stack do at all).
// - CPU per frame: a raw pusher sends mutations one at a time while the ten clients only receive; the
//   CPU each client spends per frame, and the coordinator per mutation (robust to a loaded machine);
//   beside it the floor, a bare `ws` client in its own process receiving the same frames (read, not
//   decoded).
// Rounds of ours and of the floor alternate; each line is the median of the rounds.
//
// Usage: node dist/confirm.js  (BENCH_RUNS rounds, 5 by default; CONFIRM_CLIENTS, CONFIRM_MUTATIONS,
// CONFIRM_SECONDS, CONFIRM_INTERVAL_MS, CONFIRM_FRAMES to change the sizes; CONFIRM_PHASES to pick)
import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startCoordinator } from '@tandem/coordinator';
import { openDocument } from '@tandem/host-node';
import { encodeMessage, protocolLimits } from '@tandem/runtime';
import { WebSocketServer } from 'ws';
import { listenQuietly, mutation, openSocket, pacedPusher, pusher } from './raw-pusher.js';
import { report } from './report.js';

const TODO = fileURLToPath(new URL('../../reducers/todo/dist/reducer.wasm', import.meta.url));
const ROUNDS = Number(process.env.BENCH_RUNS ?? 5);
const CLIENTS = Number(process.env.CONFIRM_CLIENTS ?? 10);
const MUTATIONS = Number(process.env.CONFIRM_MUTATIONS ?? 100);
const SECONDS = Number(process.env.CONFIRM_SECONDS ?? 3);
/** A client starts a mutation at most this often in the paced loop. */
const INTERVAL_MS = Number(process.env.CONFIRM_INTERVAL_MS ?? 50);
const PUSHERS = 10;
const WINDOW = protocolLimits.MAX_PUSHES_IN_FLIGHT;
const DOC = 'confirm-bench';
/**
 * CONFIRM_PHASES=frames, =latency or =throughput runs one of them (comma-separated for several). frames:
 * a raw pusher sends FRAMES mutations one at a time while the clients only receive (nothing pending to
 * rebase): the CPU each client spends per frame and the coordinator per mutation, robust to load.
 */
const PHASES = (process.env.CONFIRM_PHASES ?? 'frames,latency,throughput').split(',');
const FRAMES = Number(process.env.CONFIRM_FRAMES ?? 200);
/** The pushers' document: the clients' (all ten syncing it) would take their CPU from the machine. */
const PUSHED_DOC = 'confirm-throughput';
const COORDINATOR = process.env.CONFIRM_COORDINATOR;
/**
 * CONFIRM_CLIENT_BASELINE=<another build's host-node/dist/index.js>: the clients of odd index open
 * their document through that build, so the frames line compares the two builds' clients in the same
 * rounds, on the same frames and under the same load.
 */
const CLIENT_BASELINE = process.env.CONFIRM_CLIENT_BASELINE;

type Command =
  | {
      readonly type: 'latency';
      readonly url: string;
      readonly count: number;
      readonly echo: boolean;
      /** The least time between two starts (0: no pause). */
      readonly intervalMs: number;
    }
  | {
      readonly type: 'throughput';
      readonly url: string;
      readonly echo: boolean;
      readonly reducerHash: string;
    }
  | {
      /** One connection pushes `count` mutations, one in flight, starts ≥ `intervalMs` apart. */
      readonly type: 'paced';
      readonly url: string;
      readonly reducerHash: string;
      readonly count: number;
      readonly intervalMs: number;
    }
  | { readonly type: 'cpu' }
  /** The bare receiver: say hello to the clients' document, take its catch-up, then only read. */
  | { readonly type: 'listen'; readonly url: string; readonly reducerHash: string }
  | { readonly type: 'fsync' }
  | { readonly type: 'exit' };

interface Reply {
  readonly latencies?: number[];
  readonly perSecond?: number;
  /** CPU the process used during the measured window, in cores. */
  readonly cores?: number;
  readonly port?: number;
  readonly reducerHash?: string;
  readonly cpu?: NodeJS.CpuUsage;
  /** CPU the answering thread (the coordinator's main thread) used so far, ms; Linux only. */
  readonly mainThreadMs?: number;
  /** Messages the bare receiver has read so far. */
  readonly messages?: number;
  /** Median of appending 4 KiB and fsyncing it, in the coordinator's data folder, ms. */
  readonly fsyncMs?: number;
}

// ---- child roles ------------------------------------------------------------------------------

async function coordinatorRole(dataDir: string): Promise<void> {
  // CONFIRM_COORDINATOR=<another build's coordinator/dist/index.js>: that build's coordinator (a
  // baseline, its rounds interleaved with ours by running the bench alternately).
  const start: typeof startCoordinator =
    COORDINATOR === undefined
      ? startCoordinator
      : ((await import(pathToFileURL(COORDINATOR).href)) as { startCoordinator: typeof startCoordinator })
          .startCoordinator;
  const coordinator = await start({ reducer: TODO, port: 0, dataDir });
  serveParent(async (command) => {
    if (command.type === 'cpu') {
      const mainThreadMs = threadCpuMs();
      return { cpu: process.cpuUsage(), ...(mainThreadMs !== undefined && { mainThreadMs }) };
    }
    if (command.type === 'fsync') return { fsyncMs: await fsyncMs(join(dataDir, 'fsync-probe')) };
    return {};
  });
  process.send?.({ port: coordinator.port, reducerHash: coordinator.reducerHash } satisfies Reply);
  process.on('disconnect', () => void coordinator.close().then(() => process.exit(0)));
}

async function echoRole(): Promise<void> {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((resolve) => server.once('listening', resolve));
  // The answer a push gets, in size: a push-result.
  const answer = encodeMessage({
    type: 'push-result',
    appliedLsn: 1,
    frameLsn: 1,
    rejected: [],
    refused: null,
  });
  server.on('connection', (socket) => socket.on('message', () => socket.send(answer)));
  serveParent(async (command) => (command.type === 'cpu' ? { cpu: process.cpuUsage() } : {}));
  const address = server.address();
  process.send?.({
    port: typeof address === 'object' && address !== null ? address.port : 0,
  } satisfies Reply);
  process.on('disconnect', () => process.exit(0));
}

async function clientRole(url: string, dataDir: string, index: number): Promise<void> {
  const open: typeof openDocument =
    CLIENT_BASELINE === undefined || index % 2 === 0
      ? openDocument
      : ((await import(pathToFileURL(CLIENT_BASELINE).href)) as { openDocument: typeof openDocument })
          .openDocument;
  const doc = await open({ docId: DOC, reducer: TODO, dataDir, coordinatorUrl: url });
  await doc.synced();
  let n = 0;
  serveParent(async (command) => {
    if (command.type === 'cpu') return { cpu: process.cpuUsage() };
    if (command.type !== 'latency') return {};
    const latencies: number[] = [];
    // Each client's first start at a random phase of the interval, so clients do not move in step.
    let next = performance.now() + Math.random() * command.intervalMs;
    const paced = async (): Promise<void> => {
      const wait = next - performance.now();
      if (wait > 0) await sleep(wait);
      next = Math.max(next + command.intervalMs, performance.now());
    };
    if (command.echo) {
      const socket = await openSocket(command.url);
      const push = encodeMessage({
        type: 'push',
        mutations: [{ lsn: 1, timestamp: Date.now(), payload: mutation(`c${index}-${n}`) }],
      });
      for (let i = 0; i < command.count; i++) {
        await paced();
        const start = performance.now();
        await new Promise<void>((resolve) => {
          socket.once('message', () => resolve());
          socket.send(push);
        });
        latencies.push(performance.now() - start);
      }
      socket.close();
      return { latencies };
    }
    for (let i = 0; i < command.count; i++) {
      await paced();
      const start = performance.now();
      const { lsn } = await doc.mutate({ type: 'create', id: `c${index}-${n++}`, title: 'a small todo' });
      const fate = await doc.fate(lsn);
      latencies.push(performance.now() - start);
      if (fate.status !== 'confirmed') throw new Error(`mutation ${lsn} was ${fate.status}`);
    }
    return { latencies };
  });
  process.send?.({} satisfies Reply);
  process.on('disconnect', () => void doc.close().then(() => process.exit(0)));
}

/** The floor of a client's CPU per frame: a bare `ws` client that reads each message and drops it. */
async function receiverRole(): Promise<void> {
  let messages = (): number => 0;
  serveParent(async (command) => {
    if (command.type === 'cpu') return { cpu: process.cpuUsage(), messages: messages() };
    if (command.type !== 'listen') return {};
    messages = await listenQuietly(command.url, command.reducerHash, DOC);
    return {};
  });
  process.send?.({} satisfies Reply);
  process.on('disconnect', () => process.exit(0));
}

/** Raw protocol pushers: one small mutation per push, a full window in flight on each connection. */
async function pushersRole(): Promise<void> {
  serveParent(async (command) => {
    if (command.type === 'paced') {
      const latencies = await pacedPusher(
        command.url,
        command.reducerHash,
        command.count,
        command.intervalMs,
        DOC,
      );
      return { latencies };
    }
    if (command.type !== 'throughput') return {};
    const sockets = await Promise.all(
      Array.from({ length: PUSHERS }, () =>
        pusher(command.url, command.echo, command.reducerHash, PUSHED_DOC),
      ),
    );
    const warmUp = 500;
    await sleep(warmUp);
    const before = sockets.reduce((n, s) => n + s.confirmed(), 0);
    const cpu = process.cpuUsage();
    const start = performance.now();
    await sleep(SECONDS * 1000);
    const seconds = (performance.now() - start) / 1000;
    const confirmed = sockets.reduce((n, s) => n + s.confirmed(), 0) - before;
    const used = process.cpuUsage(cpu);
    for (const s of sockets) s.stop();
    return { perSecond: confirmed / seconds, cores: (used.user + used.system) / 1e6 / seconds };
  });
  process.send?.({} satisfies Reply);
  process.on('disconnect', () => process.exit(0));
}

/**
 * The calling thread's CPU so far (user + system, ms) from /proc/thread-self/stat, read synchronously
 * (an async read would run on, and measure, a thread of the fs pool): the coordinator's main thread
 * apart from its document workers, the fs thread pool and V8's GC and compiler threads. Undefined
 * where there is no such file.
 */
function threadCpuMs(): number | undefined {
  let stat: string;
  try {
    stat = readFileSync('/proc/thread-self/stat', 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the command name (which may hold spaces): state is the first, utime the 12th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? ticks * 10 : undefined;
}

/** What making 4 KiB durable costs on this disk: the median of 20 appends, each fsynced. */
async function fsyncMs(path: string): Promise<number> {
  const file = await open(path, 'a');
  const times: number[] = [];
  try {
    for (let i = 0; i < 20; i++) {
      await file.write(new Uint8Array(4096).fill(i));
      const start = performance.now();
      await file.datasync();
      times.push(performance.now() - start);
    }
  } finally {
    await file.close();
    await rm(path, { force: true });
  }
  return median(times);
}

/** Answers the parent's commands one at a time. */
function serveParent(handle: (command: Command) => Promise<Reply>): void {
  process.on('message', (command: Command) => {
    if (command.type === 'exit') process.exit(0);
    void handle(command).then(
      (reply) => process.send?.(reply),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}

// ---- the driver -------------------------------------------------------------------------------

/**
 * A folder where the children share the prepared reducer (runtime/src/reducer/shared-prepared.ts), so
 * eleven processes do not each spend a second in binaryen at start.
 */
let prepared = '';
const PROFILE = process.env.CONFIRM_PROFILE;

class Child {
  readonly #process: ChildProcess;
  #waiting: ((reply: Reply) => void)[] = [];
  /** Settles once the process has exited. */
  readonly #exited: Promise<void>;

  constructor(role: string, ...args: string[]) {
    this.#process = fork(fileURLToPath(import.meta.url), [role, ...args], {
      env: { ...process.env, TANDEM_LOG_LEVEL: 'warn', TANDEM_PREPARED_CACHE: prepared },
      // CONFIRM_PROFILE=<folder>: CPU profiles of the coordinator (and its workers), the first client
      // and the pushers.
      execArgv:
        PROFILE !== undefined && (role !== 'client' || args[2] === '0')
          ? [...process.execArgv, '--cpu-prof', `--cpu-prof-dir=${PROFILE}/${role}`]
          : process.execArgv,
    });
    this.#process.on('message', (reply: Reply) => this.#waiting.shift()?.(reply));
    this.#exited = new Promise((resolve) => this.#process.once('exit', () => resolve()));
    this.#process.on('exit', (code) => {
      if (code !== 0 && code !== null) {
        console.error(`${role} exited with code ${code}`);
        process.exit(1);
      }
    });
  }

  /** The next message from the child. */
  next(): Promise<Reply> {
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  ask(command: Command): Promise<Reply> {
    const reply = this.next();
    this.#process.send(command);
    return reply;
  }

  /** Disconnects the child (it closes what it opened, then exits) and waits for its exit. */
  stop(): Promise<void> {
    if (this.#process.connected) this.#process.disconnect();
    return this.#exited;
  }
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const median = (values: readonly number[]) => quantile(values, 0.5);
const mean = (values: readonly number[]) => values.reduce((n, v) => n + v, 0) / values.length;

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'tandem-confirm-'));
  prepared = join(root, 'prepared');
  await mkdir(prepared);
  const coordinator = new Child('coordinator', join(root, 'coordinator'));
  const echo = new Child('echo');
  const [started, echoed] = await Promise.all([coordinator.next(), echo.next()]);
  const { port } = started;
  const reducerHash = started.reducerHash ?? '';
  const echoPort = echoed.port;
  const url = `ws://127.0.0.1:${port}/sync`;
  const echoUrl = `ws://127.0.0.1:${echoPort}/`;
  const clients = Array.from(
    { length: CLIENTS },
    (_, i) => new Child('client', url, join(root, `client-${i}`), String(i)),
  );
  await Promise.all(clients.map((c) => c.next()));
  const pushers = new Child('pushers');
  await pushers.next();
  const receiver = PHASES.includes('frames') ? new Child('receiver') : undefined;
  if (receiver !== undefined) {
    await receiver.next();
    await receiver.ask({ type: 'listen', url, reducerHash });
  }
  console.log(
    `# confirm: load average ${loadavg()[0]!.toFixed(1)}; ${CLIENTS} client processes, ${MUTATIONS} mutations each per round (one in flight per client, starts ≥ ${INTERVAL_MS} ms apart, then without a pause); ${PUSHERS} raw pushers × ${WINDOW} in flight for ${SECONDS} s; median of ${ROUNDS} rounds, Node ${process.version}`,
  );

  const latency = async (group: readonly Child[], echoed: boolean, intervalMs = INTERVAL_MS) => {
    const replies = await Promise.all(
      group.map((c) =>
        c.ask({
          type: 'latency',
          url: echoed ? echoUrl : url,
          count: MUTATIONS,
          echo: echoed,
          intervalMs,
        }),
      ),
    );
    const all = replies.flatMap((r) => r.latencies ?? []);
    return { p50: quantile(all, 0.5), p99: quantile(all, 0.99) };
  };
  const rounds = {
    one: [] as { p50: number; p99: number }[],
    oneFloor: [] as { p50: number; p99: number }[],
    ten: [] as { p50: number; p99: number }[],
    tenFloor: [] as { p50: number; p99: number }[],
    tenFlat: [] as { p50: number; p99: number }[],
    /** CPU per confirmed mutation in the paced ten-client rounds, ms: the coordinator's, the clients' sum. */
    coordinatorCpu: [] as number[],
    clientsCpu: [] as number[],
    tenFlatFloor: [] as { p50: number; p99: number }[],
    /** CPU per frame one client receives with nothing pending, ms; the coordinator's per mutation. */
    frameClientCpu: [] as number[],
    /** With CONFIRM_CLIENT_BASELINE: the same, of this build's clients and of the baseline's. */
    frameOursCpu: [] as number[],
    frameBaselineCpu: [] as number[],
    /** The same for the bare `ws` receiver (the floor). */
    frameFloorCpu: [] as number[],
    frameCoordinatorCpu: [] as number[],
    /** The part of it on the coordinator's main thread (sockets, protocol, fan-out). */
    frameMainThreadCpu: [] as number[],
    /** The raw pusher's round trips (push sent → its push-result read) meanwhile, ms. */
    frameRoundTrip: [] as { p50: number; p99: number }[],
    rate: [] as number[],
    rateFloor: [] as number[],
    pusherCores: [] as number[],
    coordinatorCores: [] as number[],
  };
  if (PHASES.includes('latency')) await latency(clients, false);
  const fsyncs: number[] = [];
  const ms = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage) => (b.user - a.user + b.system - a.system) / 1000;
  const cpu = async () => {
    const { cpu: used, mainThreadMs } = await coordinator.ask({ type: 'cpu' });
    return {
      coordinator: used!,
      mainThreadMs,
      clients: await Promise.all(clients.map(async (c) => (await c.ask({ type: 'cpu' })).cpu!)),
      receiver: await receiver?.ask({ type: 'cpu' }),
    };
  };
  for (let round = 0; round < ROUNDS; round++) {
    if (PHASES.includes('frames')) {
      const before = await cpu();
      const { latencies } = await pushers.ask({
        type: 'paced',
        url,
        reducerHash,
        count: FRAMES,
        intervalMs: 5,
      });
      rounds.frameRoundTrip.push({ p50: quantile(latencies!, 0.5), p99: quantile(latencies!, 0.99) });
      // The clients get the last frame about when the pusher gets its result: let them take it.
      await sleep(300);
      const after = await cpu();
      rounds.frameCoordinatorCpu.push(ms(before.coordinator, after.coordinator) / FRAMES);
      if (before.mainThreadMs !== undefined && after.mainThreadMs !== undefined) {
        rounds.frameMainThreadCpu.push((after.mainThreadMs - before.mainThreadMs) / FRAMES);
      }
      const perFrame = before.clients.map((b, i) => ms(b, after.clients[i]!) / FRAMES);
      rounds.frameClientCpu.push(mean(perFrame));
      if (CLIENT_BASELINE !== undefined) {
        rounds.frameOursCpu.push(mean(perFrame.filter((_, i) => i % 2 === 0)));
        rounds.frameBaselineCpu.push(mean(perFrame.filter((_, i) => i % 2 === 1)));
      }
      const heard = after.receiver!.messages! - before.receiver!.messages!;
      // A floor that stopped hearing (its connection dropped) would be no floor at all.
      if (heard < FRAMES) throw new Error(`the bare receiver read ${heard} messages of ${FRAMES} frames`);
      rounds.frameFloorCpu.push(ms(before.receiver!.cpu!, after.receiver!.cpu!) / FRAMES);
    }
    if (PHASES.includes('latency')) {
      rounds.one.push(await latency(clients.slice(0, 1), false));
      rounds.oneFloor.push(await latency(clients.slice(0, 1), true));
      const before = await cpu();
      rounds.ten.push(await latency(clients, false));
      const after = await cpu();
      const confirmed = CLIENTS * MUTATIONS;
      rounds.coordinatorCpu.push(ms(before.coordinator, after.coordinator) / confirmed);
      rounds.clientsCpu.push(before.clients.reduce((n, b, i) => n + ms(b, after.clients[i]!), 0) / confirmed);
      rounds.tenFloor.push(await latency(clients, true));
      rounds.tenFlat.push(await latency(clients, false, 0));
      rounds.tenFlatFloor.push(await latency(clients, true, 0));
      fsyncs.push((await coordinator.ask({ type: 'fsync' })).fsyncMs!);
    }
    if (!PHASES.includes('throughput')) continue;
    const cpuBefore = (await coordinator.ask({ type: 'cpu' })).cpu!;
    const started = performance.now();
    const ours = await pushers.ask({ type: 'throughput', url, echo: false, reducerHash });
    const cpuAfter = (await coordinator.ask({ type: 'cpu' })).cpu!;
    const elapsed = (performance.now() - started) / 1000;
    rounds.rate.push(ours.perSecond!);
    rounds.pusherCores.push(ours.cores!);
    rounds.coordinatorCores.push(
      (cpuAfter.user - cpuBefore.user + cpuAfter.system - cpuBefore.system) / 1e6 / elapsed,
    );
    rounds.rateFloor.push(
      (await pushers.ask({ type: 'throughput', url: echoUrl, echo: true, reducerHash })).perSecond!,
    );
  }

  const line = (figure: string, ours: number, floor: number, unit: string, goal: string, how: string) =>
    report(
      figure,
      ours,
      unit,
      `floor ${floor.toFixed(floor >= 100 ? 0 : 2)} ${unit} (${how}), ratio ${(ours / floor).toFixed(2)}, goal ${goal}`,
    );
  if (PHASES.includes('frames')) {
    console.log(
      `#   CPU per frame with nothing pending (${FRAMES} pushed one at a time, ≤ 200/s): each client ${median(rounds.frameClientCpu).toFixed(3)} ms per frame received, the coordinator ${median(rounds.frameCoordinatorCpu).toFixed(3)} ms per mutation${rounds.frameMainThreadCpu.length > 0 ? ` (its main thread ${median(rounds.frameMainThreadCpu).toFixed(2)}: sockets, protocol, fan-out; the rest in its document worker, fs thread pool, GC and compiler threads)` : ''}`,
    );
    line(
      'confirm: client CPU per frame received, nothing pending',
      median(rounds.frameClientCpu),
      median(rounds.frameFloorCpu),
      'ms',
      'near the floor',
      'a bare ws client reading the same frames',
    );
    if (CLIENT_BASELINE !== undefined) {
      console.log(
        `#   clients of this build ${median(rounds.frameOursCpu).toFixed(3)} ms per frame, of ${CLIENT_BASELINE} ${median(rounds.frameBaselineCpu).toFixed(3)} (rounds: ${rounds.frameOursCpu.map((c, i) => `${c.toFixed(3)}/${rounds.frameBaselineCpu[i]!.toFixed(3)}`).join(' ')})`,
      );
    }
    console.log(
      `#   the raw pusher's round trip meanwhile (push → push-result, the coordinator's serial path): p50 ${median(rounds.frameRoundTrip.map((r) => r.p50)).toFixed(2)} ms, p99 ${median(rounds.frameRoundTrip.map((r) => r.p99)).toFixed(2)} ms${COORDINATOR === undefined ? '' : `; coordinator from ${COORDINATOR}`}`,
    );
  }
  if (PHASES.includes('latency')) {
    const p = (list: { p50: number; p99: number }[], key: 'p50' | 'p99') => median(list.map((r) => r[key]));
    // Nothing is confirmed before two syncs: the client's timeline, then the coordinator's journal.
    const fsync = median(fsyncs);
    const how = (echo: number) => `ws echo ${echo.toFixed(2)} + 2 fsyncs of ${fsync.toFixed(2)}`;
    console.log(
      `#   CPU per confirmed mutation, ${CLIENTS} clients at their pace: the coordinator ${median(rounds.coordinatorCpu).toFixed(2)} ms, the ${CLIENTS} clients ${median(rounds.clientsCpu).toFixed(2)} ms together (what a loaded machine does not inflate much)`,
    );
    const pace = `each ≤ ${Math.round(1000 / INTERVAL_MS)}/s`;
    for (const [who, ours, floors, goals] of [
      [`1 client, ${pace}`, rounds.one, rounds.oneFloor, ['—', '—']],
      [`${CLIENTS} client processes, ${pace}`, rounds.ten, rounds.tenFloor, ['≤ 5 ms', '≤ 20 ms']],
      [`${CLIENTS} client processes, no pause`, rounds.tenFlat, rounds.tenFlatFloor, ['—', '—']],
    ] as const) {
      for (const [i, key] of (['p50', 'p99'] as const).entries()) {
        const echo = p(floors, key);
        line(
          `confirm: mutate → confirmed ${key}, ${who}`,
          p(ours, key),
          echo + 2 * fsync,
          'ms',
          goals[i]!,
          how(echo),
        );
      }
    }
  }
  if (PHASES.includes('throughput')) {
    line(
      'confirm: confirmed mutations/s, one document',
      median(rounds.rate),
      median(rounds.rateFloor),
      'mutations/s',
      '≥ 10,000',
      'ws echo round trips of the pushers',
    );
    console.log(
      `#   raw pushers used ${median(rounds.pusherCores).toFixed(2)} cores, the coordinator ${median(rounds.coordinatorCores).toFixed(2)} (2 cores here)`,
    );
  }

  // A client closing its document under load may still be writing its folder (a checkpoint at close)
  // long after a fixed pause: removing the folders under it failed with ENOTEMPTY (load 18).
  await Promise.all(
    [...clients, pushers, echo, ...(receiver ? [receiver] : [])].map((child) => child.stop()),
  );
  await coordinator.stop();
  await rm(root, { recursive: true, force: true });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

switch (process.argv[2]) {
  case 'coordinator':
    await coordinatorRole(process.argv[3]!);
    break;
  case 'echo':
    await echoRole();
    break;
  case 'client':
    await clientRole(process.argv[3]!, process.argv[4]!, Number(process.argv[5]));
    break;
  case 'pushers':
    await pushersRole();
    break;
  case 'receiver':
    await receiverRole();
    break;
  default:
    await main();
}
