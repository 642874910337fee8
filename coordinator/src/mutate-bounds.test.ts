// Claims of finding 7 (issue 8): local and remote limits agree. Whatever a caller passes to `mutate` or
// `mutateBatch`, either it is refused at once with `invalid-argument` (nothing takes an lsn or reaches
// the timeline, and the document keeps working), or it is applied locally and the coordinator takes it
// (confirmed, or rejected by the reducer): never refused as malformed, never a stuck sync, never a
// failed storage. A real client (host-node, with its files) syncs with startCoordinator.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDocument } from '@tandem/host-node';
import { type LocalDocument, protocolLimits, TandemError } from '@tandem/runtime';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type Coordinator, startCoordinator } from './server.js';

const SEED = Number(process.env.FC_SEED ?? 20_261_205);
const TODO = new URL('../../reducers/todo/dist/reducer.wasm', import.meta.url);
const FAST = { backoffMs: 20, maxBackoffMs: 200, heartbeatMs: 2000 };
const MAX_PAYLOAD = protocolLimits.MAX_PAYLOAD_BYTES;
const SAFE = Number.MAX_SAFE_INTEGER;
/** Generous: the machine running the tests may be loaded. */
const WAIT_MS = 60_000;
let scratch: string;
let coordinator: Coordinator;
let url: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'tandem-mutate-bounds-'));
  coordinator = await startCoordinator({
    reducer: new Uint8Array(await readFile(TODO)),
    dataDir: join(scratch, 'coordinator'),
    port: 0,
    workers: 1,
  });
  url = `${coordinator.url.replace('http', 'ws')}/sync`;
});
afterAll(async () => {
  await coordinator.close();
  await rm(scratch, { recursive: true, force: true });
});

let todos = 0;
const todo = () => ({ type: 'create', id: `todo-${++todos}`, title: 't' });
/** A todo whose JSON is `bytes` long (its title fills it up). */
const todoOfBytes = (bytes: number) => {
  const base = JSON.stringify({ type: 'create', id: `big-${++todos}`, title: '' }).length;
  return { type: 'create', id: `big-${todos}`, title: 'x'.repeat(Math.max(0, bytes - base)) };
};
const cyclic = (): unknown => {
  const value: { self?: unknown } = {};
  value.self = value;
  return value;
};

/** A mutation argument: JSON values, bytes and JSON around the payload bound, and unserializable ones. */
const argument = fc.oneof(
  { weight: 6, arbitrary: fc.constant(null).map(todo) },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom(MAX_PAYLOAD - 1, MAX_PAYLOAD, MAX_PAYLOAD + 1, 2 * MAX_PAYLOAD)
      .chain((n) => fc.constantFrom(new Uint8Array(n), todoOfBytes(n))),
  },
  { weight: 1, arbitrary: fc.constantFrom(0, 1, 64).map((n) => new Uint8Array(n)) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom<() => unknown>(
      () => 10n,
      () => ({ n: 10n }),
      cyclic,
      () => () => 1,
      () => Symbol('s'),
      () => undefined,
    ),
  },
);
/** A timestamp option at and beyond its bounds (absent: Date.now()). */
const timestamp = fc.oneof(
  { weight: 4, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.nat() },
  {
    weight: 3,
    arbitrary: fc.constantFrom(0, SAFE, SAFE + 1, -1, -5, 1.5, Number.NaN, Infinity, -Infinity, 1e300),
  },
);
/** A call: one mutation, or a batch (empty, small, or more than one push holds). */
const call = fc.record({
  batch: fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: fc.nat(3) },
    { weight: 1, arbitrary: fc.constantFrom(protocolLimits.MAX_PUSH_MUTATIONS + 1, 1500) },
  ),
  argument,
  timestamp,
});

const materialize = (value: unknown) => (typeof value === 'function' ? value() : value);

test('a mutation mutate accepts is one the coordinator takes; any other is refused before the timeline', async () => {
  const document: LocalDocument = await openDocument({
    docId: 'mutate-bounds',
    reducer: TODO,
    dataDir: join(scratch, 'client'),
    coordinatorUrl: url,
    sync: FAST,
  });
  const accepted: number[] = [];
  const refusals = new Map<string, number>();
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(call, { minLength: 1, maxLength: 6 }), async (calls) => {
        for (const { batch, argument, timestamp } of calls) {
          const options = timestamp === undefined ? {} : { timestamp };
          const pendingBefore = document.pendingCount;
          const args =
            batch === undefined
              ? [materialize(argument)]
              : [...Array.from({ length: batch }, todo), ...(batch > 3 ? [] : [materialize(argument)])];
          let lsns: number[];
          try {
            lsns =
              batch === undefined
                ? [(await document.mutate(args[0], options)).lsn]
                : (await document.mutateBatch(args, options)).map((r) => r.lsn);
          } catch (error) {
            // Refused: a typed invalid-argument, and nothing queued or written.
            expect(error).toBeInstanceOf(TandemError);
            expect((error as TandemError).kind).toBe('invalid-argument');
            expect(document.pendingCount).toBe(pendingBefore);
            const reason = (error as TandemError).fields.reason ?? (error as Error).message;
            const key = reason.replace(/[0-9]{3,}/g, 'N').slice(0, 60);
            refusals.set(key, (refusals.get(key) ?? 0) + 1);
            continue;
          }
          // Accepted: consecutive lsns after the last accepted one (a refusal took none).
          const last = accepted.at(-1) ?? -1;
          expect(lsns).toEqual(lsns.map((_, i) => last + 1 + i));
          accepted.push(...lsns);
        }
        // The document keeps working and its sync never stops.
        const { lsn } = await document.mutate(todo());
        accepted.push(lsn);
        expect(document.syncError).toBeUndefined();
      }),
      { seed: SEED, numRuns: 20, endOnFailure: true },
    );
    // Every accepted mutation reaches the coordinator, which takes it (confirmed or rejected).
    const fates = await withTimeout(
      Promise.all(accepted.map((lsn) => document.fate(lsn))),
      'the fates of the accepted mutations',
    );
    for (const fate of fates) expect(['confirmed', 'rejected']).toContain(fate.status);
    await withTimeout(document.synced(), 'synced');
    expect(document.syncState).not.toBe('failed');
  } finally {
    console.log(
      `seed ${SEED} (FC_SEED replays it): ${accepted.length} accepted; refused:`,
      Object.fromEntries(refusals),
    );
    await document.close();
  }
}, 600_000);

async function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), WAIT_MS);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
