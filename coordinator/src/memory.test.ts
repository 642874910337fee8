// Memory claims, against the coordinator as a process (its RSS read from /proc): documents that go
// idle are closed and memory stops growing with the documents touched, and a socket that has not been welcomed cannot make it hold much.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeServerMessage, encodeMessage, PROTOCOL_VERSION, type ServerMessage } from '@tandem/runtime';
import { afterEach, expect, test } from 'vitest';
import WebSocket from 'ws';

const reducer = fileURLToPath(new URL('../../reducers/todo/dist/reducer.wasm', import.meta.url));
const bin = fileURLToPath(new URL('../bin/tandem-coordinator.js', import.meta.url));
const MiB = 1024 * 1024;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

interface Running {
  readonly url: string;
  readonly child: ChildProcess;
  rss(): Promise<number>;
  metric(name: string): Promise<number | undefined>;
}

async function startProcess(extra: readonly string[]): Promise<Running> {
  const data = await mkdtemp(join(tmpdir(), 'tandem-memory-'));
  const child = spawn(
    process.execPath,
    [bin, '--reducer', reducer, '--data', data, '--port', '0', ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  cleanups.push(async () => {
    child.kill('SIGKILL');
    await rm(data, { recursive: true, force: true });
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const found = /listening on (http:\/\/\S+)/.exec(output);
      if (found?.[1] !== undefined) resolve(found[1]);
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${output}`)));
  });
  return {
    url,
    child,
    rss: async () => {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]) * 1024;
    },
    metric: async (name) => {
      const text = await (await fetch(`${url}/metrics`)).text();
      const found = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
      return found?.[1] === undefined ? undefined : Number(found[1]);
    },
  };
}

/** Hello (under the coordinator's reducer), one push of one mutation, its result, and a close: a document touched once. */
function touch(url: string, docId: string, reducerHash: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/sync`);
    socket.on('error', reject);
    socket.on('open', () =>
      socket.send(
        encodeMessage({
          type: 'hello',
          protocolVersion: PROTOCOL_VERSION,
          docId,
          timelineId: 'memory',
          timelineSecret: '7'.repeat(64),
          journalId: null,
          cursor: 0,
          reducerHash,
          token: null,
        }),
      ),
    );
    socket.on('message', (data: Buffer) => {
      const message = decodeServerMessage(new Uint8Array(data));
      if (message.type === 'welcome') {
        const payload = new TextEncoder().encode(JSON.stringify({ type: 'create', id: 'a', title: docId }));
        socket.send(
          encodeMessage({ type: 'push', mutations: [{ lsn: 0, timestamp: 1_700_000_000_000, payload }] }),
        );
      } else if (message.type === 'push-result') {
        socket.close();
        resolve();
      } else if (message.type === 'error') reject(new Error(`${message.kind}: ${message.message}`));
    });
  });
}

async function until(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return check();
}

test('2,000 documents touched once and then idle: the coordinator closes them, and the second 1,000 leave its RSS where the first 1,000 did', async () => {
  const coordinator = await startProcess([
    '--idle-document-ms',
    '200',
    '--max-open-documents',
    '16',
    '--log-level',
    'warn',
  ]);
  const { sha256: reducerHash } = (await (await fetch(`${coordinator.url}/reducers/current`)).json()) as {
    sha256: string;
  };
  // The start: workers ready and the open-push-close path taken once on each.
  for (let i = 0; i < 8; i++) await touch(coordinator.url, `warm-${i}`, reducerHash);
  const idle = () => until(async () => (await coordinator.metric('tandem_open_documents')) === 0, 10_000);
  expect(await idle()).toBe(true);
  const start = await coordinator.rss();

  let next = 0;
  const touchUpTo = async (count: number): Promise<void> => {
    // Eight clients at a time: each holds its document open while connected, so the peak is the lanes
    // plus the bound, whatever the machine's speed.
    const lane = async (): Promise<void> => {
      while (next < count) await touch(coordinator.url, `doc-${next++}`, reducerHash);
    };
    await Promise.all(Array.from({ length: 8 }, lane));
    expect(await idle()).toBe(true);
  };
  await touchUpTo(1000);
  const half = await coordinator.rss();
  await touchUpTo(2000);
  // A WebAssembly memory never shrinks, so what the bound's documents once used stays: the claim is
  // that it stops growing once the bound was reached, not that it returns to the start.
  let end = await coordinator.rss();
  await until(async () => {
    end = await coordinator.rss();
    return end <= half * 1.15;
  }, 10_000);
  const report = `RSS ${(start / MiB).toFixed(0)} MiB at start, ${(half / MiB).toFixed(0)} MiB after 1,000 idle documents, ${(end / MiB).toFixed(0)} MiB after 2,000`;
  console.log(report);
  expect(end, report).toBeLessThanOrEqual(half * 1.15);
  expect(half - start, report).toBeLessThanOrEqual(256 * MiB);
}, 120_000);

test('20 sockets each sending a 60 MB message before hello get a quota error and are dropped, and RSS stays bounded', async () => {
  const coordinator = await startProcess(['--log-level', 'silent']);
  const start = await coordinator.rss();
  const huge = new Uint8Array(60 * 1_000_000);
  const outcomes = await Promise.all(
    Array.from(
      { length: 20 },
      () =>
        new Promise<{ error: ServerMessage | undefined }>((resolve) => {
          const socket = new WebSocket(`${coordinator.url.replace(/^http/, 'ws')}/sync`);
          let error: ServerMessage | undefined;
          socket.on('message', (data: Buffer) => {
            error ??= decodeServerMessage(new Uint8Array(data));
          });
          socket.on('error', () => undefined);
          socket.on('close', () => resolve({ error }));
          socket.on('open', () => socket.send(huge));
        }),
    ),
  );
  for (const { error } of outcomes) expect(error).toMatchObject({ type: 'error', kind: 'quota' });
  const grown = (await coordinator.rss()) - start;
  expect(grown, `RSS grew ${(grown / MiB).toFixed(0)} MiB`).toBeLessThan(200 * MiB);
  expect(await coordinator.metric('tandem_connections')).toBe(0);
}, 60_000);
