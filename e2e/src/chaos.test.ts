// The chaos run: a coordinator process and three client processes, each client behind its own TCP
// proxy, while a seeded schedule SIGKILLs and restarts the coordinator and the clients (a client
// restarts on its own data folder, so it continues its timeline) and cuts connections. Once the chaos
// stops and everything settles, every client is live on an open connection with nothing pending, every
// mutation whose `mutate` resolved has a fate and (confirmed) is in the coordinator's pages exactly once,
// and every client holds the coordinator's pages. A failure lists every broken invariant, with the seed
// and the log of events.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDocument } from '@tandem/host-node';
import type { LocalDocument } from '@tandem/runtime';
import { loadReducer } from '@tandem/runtime/prepare';
import { expect, test } from 'vitest';
import { Child, type Exit } from './chaos/child.js';
import { ClientLedger, checkClient, checkRows, type FinalState } from './chaos/ledger.js';
import type {
  ClientReport,
  ClientRequest,
  ClientStatus,
  CoordinatorReport,
  CoordinatorRequest,
  TodoRow,
} from './chaos/messages.js';
import { Restartable } from './chaos/restartable.js';
import { type ChaosEvent, chaosSchedule, describeEvent } from './chaos/schedule.js';
import { freePort } from './support/free-port.js';
import { TcpProxy } from './support/tcp-proxy.js';
import { REPO_ROOT } from './support/vite-server.js';

const SEED = BigInt(process.env.CHAOS_SEED ?? process.env.FC_SEED ?? 20_260_805);
const CLIENTS = 3;
const CHAOS_MS = 18_000;
const KILLS = 5;
const DROP_EVERY_MS = 1500;
/** A client live with no connection for this long is stuck (it sees a close within milliseconds). */
const STUCK_MS = 3000;
/** The coordinator's log lines (warn and above) copied into the event log, at most. */
const MAX_COORDINATOR_LINES = 40;
/** How long a cut after the next message waits for one (across a coordinator restart: it then hits the catch-up). */
const ARMED_CUT_MS = 8000;
const TODO = join(REPO_ROOT, 'reducers/todo/dist/reducer.wasm');
const CLIENT_SCRIPT = join(REPO_ROOT, 'e2e/dist/chaos/client-process.js');
const COORDINATOR_SCRIPT = join(REPO_ROOT, 'e2e/dist/chaos/coordinator-process.js');
/** Starting a process loads sqlite-wasm and the reducer: slow on a loaded machine. */
const START_MS = 60_000;

type ClientChild = Child<ClientRequest, ClientReport>;
type CoordinatorChild = Child<CoordinatorRequest, CoordinatorReport>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Polls `check` until it holds or `ms` pass; returns whether it held. */
async function until(check: () => Promise<boolean>, ms: number, every = 200): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(every);
  }
}

const describeStatus = (status: ClientStatus | undefined, connections: number): string =>
  status === undefined
    ? `no status, ${connections} connections`
    : `${status.syncState}, ${status.pendingCount} pending, ${connections} open connections` +
      `${status.syncError === null ? '' : `, sync error: ${status.syncError}`}`;

/** Live with a connection open through its proxy and nothing left to push. */
const isSettled = (status: ClientStatus | undefined, connections: number): boolean =>
  status?.syncState === 'live' && status.pendingCount === 0 && connections > 0;

test(`through coordinator and client SIGKILLs and socket drops, every client ends live with every confirmed mutation applied exactly once (seed ${SEED}; CHAOS_SEED=${SEED} replays the schedule)`, async () => {
  const schedule = chaosSchedule(SEED, {
    clients: CLIENTS,
    durationMs: CHAOS_MS,
    kills: KILLS,
    dropEveryMs: DROP_EVERY_MS,
  });
  console.log(`chaos seed ${SEED} (CHAOS_SEED=${SEED} replays the schedule)`);
  const began = Date.now();
  const log: string[] = [];
  const note = (line: string): void => {
    log.push(`+${((Date.now() - began) / 1000).toFixed(1)}s ${line}`);
  };
  const problems: string[] = [];
  const scratch = await mkdtemp(join(tmpdir(), 'tandem-chaos-'));
  const port = await freePort();
  const docId = `chaos-${SEED}`;
  const ledgers = Array.from({ length: CLIENTS }, (_, i) => new ClientLedger(i));
  const proxies: TcpProxy[] = [];
  const probes = new Set<string>();
  let observer: LocalDocument | undefined;

  const watch = (child: { readonly exited: Promise<Exit>; readonly stderr: string }, name: string): void => {
    void child.exited.then((exit) => {
      if (exit.expected) return;
      const stderr = child.stderr.trim();
      problems.push(
        `${name} exited on its own (code ${exit.code}, signal ${exit.signal})${stderr === '' ? '' : `: ${stderr}`}`,
      );
      note(`${name} exited on its own`);
    });
  };

  let coordinatorLines = 0;
  const coordinator = new Restartable<CoordinatorChild>('the coordinator', () => {
    const child: CoordinatorChild = new Child(
      COORDINATOR_SCRIPT,
      [TODO, join(scratch, 'coordinator'), String(port)],
      (report) => {
        if (report.type === 'start-failed' || report.type === 'crashed') {
          note(`coordinator ${report.type}: ${report.error}`);
        }
      },
      {
        // Its warnings and errors (JSON lines on stderr) go into the event log: what an operator would see.
        env: { TANDEM_LOG_LEVEL: 'warn' },
        onStderrLine: (line) => {
          if (coordinatorLines++ < MAX_COORDINATOR_LINES) note(`coordinator says: ${line.slice(0, 300)}`);
        },
      },
    );
    watch(child, `the coordinator (pid ${child.pid})`);
    return { process: child, ready: child.next('listening', START_MS) };
  });

  const clients = ledgers.map(
    (ledger, i) =>
      new Restartable<ClientChild>(`client ${i}`, () => {
        const incarnation = ++ledger.incarnation;
        const child: ClientChild = new Child(
          CLIENT_SCRIPT,
          [
            TODO,
            join(scratch, `client-${i}`),
            docId,
            `ws://127.0.0.1:${proxies[i]!.port}/sync`,
            String(i),
            String(incarnation),
            String(SEED),
          ],
          (report) => {
            ledger.record(report, incarnation);
            if (report.type === 'opened' && incarnation > 0) {
              note(`client ${i} back: replayed ${report.replayed}, ${report.pending} pending`);
            }
          },
        );
        watch(child, `client ${i} (incarnation ${incarnation}, pid ${child.pid})`);
        return { process: child, ready: child.next('opened', START_MS) };
      }),
  );

  async function perform(event: ChaosEvent): Promise<void> {
    if (event.kind === 'drop') {
      const targets =
        event.client === null ? proxies.entries() : [[event.client, proxies[event.client]!] as const];
      for (const [i, proxy] of targets) {
        if (event.mode === 'after-message') {
          void proxy
            .cutAfterMessage(ARMED_CUT_MS)
            .then((cut) =>
              note(cut ? `cut client ${i} right after a message` : `no message for client ${i} to cut after`),
            );
        } else note(`cut ${proxy.drop(event.mode === 'rst')} connections of client ${i}`);
      }
      return;
    }
    const slot = event.kind === 'kill-coordinator' ? coordinator : clients[event.client]!;
    const killed = await slot.kill(
      event.downMs,
      // A client notes its return itself, with what it replayed.
      () => slot === coordinator && note('the coordinator is back'),
      (error) => problems.push(`${slot.name} did not restart: ${describe(error)}`),
    );
    if (!killed) note(`${slot.name} is not up yet: no kill`);
  }

  const statuses = (pageHash: boolean): Promise<(ClientStatus | undefined)[]> =>
    Promise.all(
      clients.map((c) => c.process.ask({ type: 'status', pageHash }, 'status', 5000).catch(() => undefined)),
    );
  const noteStatuses = async (): Promise<void> => {
    const all = await Promise.all(
      clients.map(async (c, i) => {
        if (!c.ready) return `client ${i}: down or starting`;
        const status = await c.process
          .ask({ type: 'status', pageHash: false }, 'status', 2000)
          .catch(() => undefined);
        return `client ${i}: ${describeStatus(status, proxies[i]!.openConnections)}`;
      }),
    );
    note(`  ${all.join('; ')}`);
  };
  /**
   * Samples every client twice a second: one seen live with no connection through its proxy, and still
   * so STUCK_MS later in the same process, is stuck (a close it missed); a later restart would hide it.
   */
  const liveWithoutConnection = new Map<number, { readonly since: number; readonly incarnation: number }>();
  /** Client and incarnation (`1/2`) of each stuck client reported. */
  const stuck = new Set<string>();
  let monitoring = true;
  const monitor = (async () => {
    while (monitoring) {
      await Promise.all(
        clients.map(async (c, i) => {
          if (!c.ready) return;
          const incarnation = ledgers[i]!.incarnation;
          const status = await c.process
            .ask({ type: 'status', pageHash: false }, 'status', 2000)
            .catch(() => undefined);
          const seen = liveWithoutConnection.get(i);
          if (status?.syncState !== 'live' || proxies[i]!.openConnections > 0 || !c.ready) {
            liveWithoutConnection.delete(i);
          } else if (seen === undefined || seen.incarnation !== incarnation) {
            liveWithoutConnection.set(i, { since: Date.now(), incarnation });
          } else if (Date.now() - seen.since >= STUCK_MS && !stuck.has(`${i}/${incarnation}`)) {
            stuck.add(`${i}/${incarnation}`);
            const since = ((seen.since - began) / 1000).toFixed(1);
            problems.push(
              `client ${i} (incarnation ${incarnation}) stayed live with no connection from +${since}s for ${STUCK_MS} ms (${status.pendingCount} pending): it never reconnects`,
            );
            note(`client ${i} is stuck live with no connection`);
          }
        }),
      );
      await sleep(500);
    }
  })();

  const coordinatorHash = async (): Promise<string | null> =>
    (await coordinator.process.ask({ type: 'page-hash', docId }, 'page-hash', 10_000)).hash;

  try {
    for (let i = 0; i < CLIENTS; i++) proxies.push(await TcpProxy.start(port));
    // All at once: starting is mostly loading the reducer, and a client needs no coordinator to open.
    await Promise.all([coordinator, ...clients].map((slot) => slot.start()));
    note(`coordinator on port ${port} and ${CLIENTS} clients up; chaos for ${CHAOS_MS} ms`);
    const chaosStart = Date.now();
    // The fresh replica that reads the coordinator's pages at the end needs the reducer loaded
    // (instrumented): done now, while this process has nothing else to do.
    const observerReducer = readFile(TODO).then((bytes) => loadReducer(bytes));
    observerReducer.catch(() => undefined);
    for (const event of schedule) {
      const wait = chaosStart + event.at - Date.now();
      if (wait > 0) await sleep(wait);
      await noteStatuses();
      note(describeEvent(event));
      await perform(event);
    }
    await sleep(chaosStart + CHAOS_MS - Date.now());
    await Promise.all([coordinator, ...clients].map((slot) => slot.restarted()));
    note('chaos over: the clients stop writing');
    await Promise.all(clients.map((c) => c.process.ask({ type: 'stop' }, 'stopped', 20_000)));

    let last: (ClientStatus | undefined)[] = [];
    const settled = await until(async () => {
      last = await statuses(false);
      return last.every((s, i) => isSettled(s, proxies[i]!.openConnections));
    }, 20_000);
    monitoring = false;
    await monitor;
    note(`settled: ${settled}`);
    if (!settled) {
      for (const [i, status] of last.entries()) {
        const connections = proxies[i]!.openConnections;
        if (isSettled(status, connections)) continue;
        problems.push(
          `client ${i} did not settle (live, a connection open, nothing pending) within 20 s: ${describeStatus(status, connections)}`,
        );
      }
    } else {
      const answers = await Promise.all(
        clients.map((c, i) => {
          const id = `probe-${i}`;
          probes.add(id);
          return c.process.ask({ type: 'probe', id, timeoutMs: 10_000 }, 'probe', 15_000);
        }),
      );
      for (const [i, answer] of answers.entries()) {
        if (answer.fate?.status !== 'confirmed') {
          problems.push(
            `client ${i}'s probe mutation was not confirmed within 10 s: ${answer.error ?? JSON.stringify(answer.fate)}`,
          );
        } else
          ledgers[i]!.resolved.push({
            id: `probe-${i}`,
            kind: 'create',
            lsn: answer.fate.lsn,
            incarnation: -1,
          });
      }
      note('probes answered');
    }

    let hashes: (string | null)[] = [];
    const converged = await until(
      async () => {
        hashes = [await coordinatorHash(), ...(await statuses(true)).map((s) => s?.pageHash ?? null)];
        return hashes[0] !== null && hashes.every((h) => h === hashes[0]);
      },
      settled ? 15_000 : 1000,
    );
    note(`page hashes equal: ${converged}`);
    if (!converged) problems.push(`page hashes differ (coordinator, then each client): ${hashes.join(' ')}`);

    observer = await openDocument({
      docId,
      reducer: await observerReducer,
      coordinatorUrl: `ws://127.0.0.1:${port}/sync`,
      sync: { backoffMs: 25, heartbeatMs: 500 },
    });
    const coordinatorPages = await coordinatorHash();
    const observed = await until(async () => (await observer!.pageHash()) === coordinatorPages, 15_000);
    if (!observed) problems.push("a fresh replica never reached the coordinator's pages");
    const authorityRows = (await observer.query('SELECT id, completed FROM todos')) as unknown as TodoRow[];
    const authority = new Map(authorityRows.map((row) => [row.id, Number(row.completed)]));

    const finals: FinalState[] = await Promise.all(
      clients.map((c, i) =>
        c.process.ask(
          { type: 'final', lsns: ledgers[i]!.resolved.map((r) => r.lsn), timeoutMs: settled ? 5000 : 1000 },
          'final',
          30_000,
        ),
      ),
    );
    for (const [i, final] of finals.entries()) problems.push(...checkClient(ledgers[i]!, final, authority));
    problems.push(...checkRows(ledgers, finals, authority, probes));
    const resolved = ledgers.reduce((n, l) => n + l.resolved.length, 0);
    note(`checked ${resolved} resolved mutations against ${authority.size} todos`);
    if (resolved < 100)
      problems.push(`only ${resolved} mutations resolved: too few for the run to mean anything`);
  } catch (error) {
    problems.push(`the run stopped: ${describe(error)}`);
  } finally {
    monitoring = false;
    await monitor;
    await observer?.close();
    await Promise.all([coordinator, ...clients].map((slot) => slot.stop()));
    for (const proxy of proxies) await proxy.close();
    await rm(scratch, { recursive: true, force: true });
  }
  note('done');
  expect(
    problems,
    `seed ${SEED} (CHAOS_SEED=${SEED} replays the schedule); events:\n${log.join('\n')}`,
  ).toEqual([]);
}, 180_000);
