// The coordinator as a process for the tests that kill, pause or multiply it, and a client that moves
// along a list of coordinators until one welcomes it (what a client with several coordinators does).
import { type ChildProcess, spawn } from 'node:child_process';
import type { Welcome } from '@tandem/runtime';
import { TestSyncClient } from './sync-client.js';

const BIN = new URL('../../bin/tandem-coordinator.js', import.meta.url).pathname;
export const TODO_REDUCER = new URL('../../../reducers/todo/dist/reducer.wasm', import.meta.url).pathname;

export interface CoordinatorProcess {
  readonly child: ChildProcess;
  readonly url: string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
}

/**
 * Processes started here that have not exited: killed when the test process exits, since a test that
 * times out never runs its `finally` (left running, they held ports and CPU for hours).
 */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts the bin on `port` (a free one by default) with `args` and `reducer` (the todo reducer by
 * default), `env` added to its environment; resolves once it listens.
 */
export async function startCoordinatorProcess(
  args: readonly string[],
  {
    reducer = TODO_REDUCER,
    env = {},
    port = 0,
  }: { reducer?: string; env?: Record<string, string>; port?: number } = {},
): Promise<CoordinatorProcess> {
  const child = spawn(process.execPath, [BIN, '--reducer', reducer, '--port', String(port), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TANDEM_LOG_LEVEL: 'error', ...env },
  });
  running.add(child);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      running.delete(child);
      resolve();
    }),
  );
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const found = /listening on (http:\/\/\S+)/.exec(output);
      if (found?.[1] !== undefined) resolve(found[1]);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${output}`)));
  });
  return { child, url, exited };
}

/**
 * A client welcomed for `docId` by one of `urls`: tried in list order from `first`, moving on at each
 * `document-unavailable` after the wait it says (another coordinator owns the document, or its lease
 * has not expired yet) and at each redirect (to an owner that may be dead), for at most `attempts` tries.
 */
export async function connectToOwner(
  urls: readonly string[],
  first: number,
  docId: string,
  timelineId: string,
  attempts = urls.length * 3,
): Promise<{ client: TestSyncClient; welcome: Welcome; url: string }> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const url = urls[(first + attempt) % urls.length]!;
    const client = await TestSyncClient.connect(url, { docId, timelineId }).catch(() => undefined);
    if (client === undefined) continue;
    // The one of the two that never comes rejects later: expected, not a failure.
    const welcome = client.next('welcome');
    const error = client.next('error');
    // Sent to the owner: this helper keeps to its own list (runtime SyncClient follows redirects).
    const redirect = client.next('redirect');
    for (const answer of [welcome, error, redirect]) answer.catch(() => undefined);
    const answer = await Promise.race([welcome, error, redirect]).catch(() => undefined);
    if (answer?.type === 'welcome') return { client, welcome: answer, url };
    client.socket.terminate();
    if (answer?.type === 'redirect') {
      await new Promise((resolve) => setTimeout(resolve, 200));
      continue;
    }
    if (answer !== undefined && answer.kind !== 'document-unavailable' && answer.kind !== 'internal') {
      throw new Error(`${url} refused ${docId}: ${answer.kind}: ${answer.message}`);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(answer?.retryAfterMs ?? 200, 1000)));
  }
  throw new Error(`no coordinator of ${urls.join(', ')} served ${docId}`);
}
