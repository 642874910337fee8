import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { decodeRecords, RecordType } from '@tandem/runtime';
import { describeByteStoreContract } from '@tandem/runtime/testing';
import { afterEach, expect, test } from 'vitest';
import { FsByteStore } from './fs-byte-store.js';
import { BATCH, crashPayload, SYNCS_PER_SEGMENT, segmentName } from './testing/crash-segments.js';

const RUN_TS = fileURLToPath(new URL('./testing/run-ts.mjs', import.meta.url));
const SYNC_UNTIL_KILLED = fileURLToPath(new URL('./testing/sync-until-killed.ts', import.meta.url));

const SEED = Number(process.env.FC_SEED ?? 20261129);

const directories: string[] = [];
const stores: FsByteStore[] = [];

async function freshDirectory(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'tandem-fs-byte-store-'));
  directories.push(directory);
  return directory;
}

async function freshStore(): Promise<FsByteStore> {
  const store = await FsByteStore.open(await freshDirectory());
  stores.push(store);
  return store;
}

afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
  await Promise.all(
    directories.splice(0).map((directory) => rm(directory, { recursive: true, force: true })),
  );
});

describeByteStoreContract('FsByteStore', freshStore, { seed: SEED });

const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);

test('the directory is created with its parents when missing', async () => {
  const directory = join(await freshDirectory(), 'a', 'b');
  const store = await FsByteStore.open(directory);
  stores.push(store);
  await store.append('f', bytes(1));
  expect((await stat(join(directory, 'f'))).size).toBe(1);
});

test('list shows only regular files whose names follow the rule', async () => {
  const store = await freshStore();
  await store.append('kept.log', bytes(1));
  await mkdir(join(store.directory, 'subdirectory'));
  await writeFile(join(store.directory, 'Upper.log'), 'x');
  await writeFile(join(store.directory, 'with space'), 'x');
  expect(await store.list()).toEqual(['kept.log']);
});

test('a store reopened over the same directory reads what the last one wrote, and appends after it', async () => {
  const first = await freshStore();
  await first.append('f', bytes(1, 2));
  await first.sync('f');
  await first.close();
  const second = await FsByteStore.open(first.directory);
  stores.push(second);
  expect(await second.read('f')).toEqual(bytes(1, 2));
  await second.append('f', bytes(3));
  await second.sync('f');
  expect(await second.read('f')).toEqual(bytes(1, 2, 3));
});

test('close waits for the operations queued before it, and the store refuses operations after it', async () => {
  const store = await freshStore();
  const appended = [store.append('f', bytes(1)), store.append('f', bytes(2)), store.sync('f')];
  await store.close();
  await Promise.all(appended);
  await expect(store.append('f', bytes(3))).rejects.toThrow(/closed/);
  await expect(store.read('f')).rejects.toThrow(/closed/);
  const reopened = await FsByteStore.open(store.directory);
  stores.push(reopened);
  expect(await reopened.read('f')).toEqual(bytes(1, 2));
});

test('a file deleted while appends to it are queued is recreated by the appends issued after the delete', async () => {
  const store = await freshStore();
  const done = [
    store.append('f', bytes(1)),
    store.delete('f'),
    store.append('f', bytes(2)),
    store.sync('f'),
    store.append('f', bytes(3)),
  ];
  await Promise.all(done);
  expect(await store.read('f')).toEqual(bytes(2, 3));
});

test('a small append to an open file with nothing queued is in the file before its call returns', async () => {
  const store = await freshStore();
  await store.append('f', bytes(1));
  const buffer = bytes(2, 3);
  const appended = store.append('f', buffer);
  // Written on this thread (invariant 7): the caller's buffer is not needed after the call.
  buffer.fill(9);
  expect(new Uint8Array(readFileSync(join(store.directory, 'f')))).toEqual(bytes(1, 2, 3));
  await appended;
  // Behind a queued sync, an append waits its turn and still lands in call order.
  const queued = [store.sync('f'), store.append('f', bytes(4)), store.append('f', bytes(5))];
  await Promise.all(queued);
  expect(await store.read('f')).toEqual(bytes(1, 2, 3, 4, 5));
});

/** Whether a callback scheduled for the event loop's next turn ran while `operation` was awaited. */
async function loopTurnedDuring(operation: () => Promise<void>): Promise<boolean> {
  let turned = false;
  const immediate = setImmediate(() => {
    turned = true;
  });
  await operation();
  clearImmediate(immediate);
  return turned;
}

test('a sync after small appends flushes on the calling thread, one after megabytes through the thread pool', async () => {
  const store = await freshStore();
  await store.append('f', bytes(1));
  // The first sync of a file this store opened also syncs the directory (invariant 5); both go through
  // the thread pool, as the file may hold what another process left unflushed.
  expect(await loopTurnedDuring(() => store.sync('f'))).toBe(true);
  await store.append('f', new Uint8Array(300));
  // Invariant 8: no turn of the event loop passes before the small sync is done.
  expect(await loopTurnedDuring(() => store.sync('f'))).toBe(false);
  await store.append('f', new Uint8Array(2 * 1024 * 1024));
  expect(await loopTurnedDuring(() => store.sync('f'))).toBe(true);
  // What was counted is cleared by the sync: the next small one is on this thread again.
  await store.append('f', new Uint8Array(300));
  expect(await loopTurnedDuring(() => store.sync('f'))).toBe(false);
  expect((await store.read('f'))?.length).toBe(1 + 300 + 2 * 1024 * 1024 + 300);
});

test('while its owner says the thread is wanted elsewhere, a small sync goes through the thread pool', async () => {
  let wanted = false;
  const store = await FsByteStore.open(await freshDirectory(), { syncOnThread: () => !wanted });
  stores.push(store);
  await store.append('f', bytes(1));
  await store.sync('f');
  await store.append('f', bytes(2));
  expect(await loopTurnedDuring(() => store.sync('f'))).toBe(false);
  wanted = true;
  await store.append('f', bytes(3));
  expect(await loopTurnedDuring(() => store.sync('f'))).toBe(true);
  expect(await store.read('f')).toEqual(bytes(1, 2, 3));
});

test('a process killed with SIGKILL leaves every record it synced, in order', async () => {
  const directory = await freshDirectory();
  const child = spawn(process.execPath, [RUN_TS, SYNC_UNTIL_KILLED, directory], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const synced = new Map<string, number>();
  const lines = createInterface({ input: child.stdout });
  // A child that never syncs is stopped before the test's own timeout; its start alone (a TypeScript
  // loader compiling the store) took over 10 s at load 14–26.
  const deadline = setTimeout(() => child.kill('SIGKILL'), 45_000);
  let killAfter: NodeJS.Timeout | undefined;
  let syncs = 0;
  for await (const line of lines) {
    const [, name, count] = /^synced (\S+) (\d+)$/.exec(line) ?? [];
    if (name === undefined || count === undefined) throw new Error(`unexpected line from the child: ${line}`);
    synced.set(name, Number(count));
    // Kill it mid-segment, a few segments in, or after half a second if syncs are slow.
    killAfter ??= setTimeout(() => child.kill('SIGKILL'), 500);
    if (++syncs === 2 * SYNCS_PER_SEGMENT + 3) child.kill('SIGKILL');
  }
  clearTimeout(deadline);
  clearTimeout(killAfter);
  const [, signal] = await once(child, 'exit');
  expect(signal, stderr).toBe('SIGKILL');
  expect(synced.size).toBeGreaterThan(0);

  const store = await FsByteStore.open(directory);
  stores.push(store);
  const names = (await store.list()).sort();
  expect(names).toEqual(names.map((_, segment) => segmentName(segment)));
  for (const [segment, name] of names.entries()) {
    const { records } = decodeRecords((await store.read(name)) ?? new Uint8Array(0));
    expect(records.length).toBeGreaterThanOrEqual(synced.get(name) ?? 0);
    const first = segment * SYNCS_PER_SEGMENT * BATCH;
    for (const [i, record] of records.entries()) {
      expect(record.type).toBe(RecordType.frame);
      expect(record.payload).toEqual(crashPayload(first + i));
    }
  }
  for (const name of synced.keys()) expect(names).toContain(name);
});
