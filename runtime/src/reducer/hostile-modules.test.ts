// Item 3 of the limits issue: whatever bytes a host is handed, loading them either yields a reducer
// that runs under its limits or fails with a ReducerLoadError naming the cause; the host survives.
import fc from 'fast-check';
import { expect, test } from 'vitest';
import {
  component,
  coreModule,
  FULL_GUEST,
  IMPORTS_ALL,
  minimalGuest,
  rawComponent,
} from './fixtures.test-helpers.js';
import { type ReducerImports, ReducerLoadError, ReducerTrap } from './host.js';
import { loadReducer } from './prepare.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261129);
const RUNS = 1000;

const KINDS = new Set([
  'not-wasm',
  'core-module-not-component',
  'malformed',
  'missing-export',
  'forbidden-import',
  'bad-signature',
  'too-large',
  'memory-too-large',
  'forbidden-instruction',
]);

const host: ReducerImports = {
  execute: () => 0n,
  executeBatch: () => 0n,
  query: () => ({ columns: [], rows: [] }),
  log: () => {},
  enter: () => {},
  now: () => 0n,
  random: () => 0n,
};

const real = await component(FULL_GUEST);
const withMemory = (pages: string) =>
  minimalGuest().replace('(memory (export "memory") 1)', `(memory (export "memory") ${pages})`);
/** Core modules a hostile producer could wrap in a component, each refused for its own reason. */
const hostileCores = await Promise.all(
  [
    minimalGuest('(import "env" "Date.now" (func (result f64)))'),
    minimalGuest('(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))'),
    minimalGuest('(import "tandem:reducer/env@0.2.0" "exit" (func))'),
    minimalGuest('(import "tandem:reducer/env@0.2.0" "now" (func (result i32)))'),
    minimalGuest('(import "env" "table" (table 1 funcref))'),
    withMemory('65536'),
    withMemory('1 65536 shared'),
    withMemory('1000 2000'),
    minimalGuest('(memory $second 1)'),
    minimalGuest('(func $f (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1))))'),
    minimalGuest('(func $f (memory.atomic.notify (i32.const 0) (i32.const 1)) drop)'),
    `(module ${IMPORTS_ALL} (memory (export "memory") 1))`,
    minimalGuest('(func $loop (loop $l (br $l))) (start $loop)'),
  ].map(coreModule),
);

const randomBytes = fc.uint8Array({ minLength: 0, maxLength: 256 });
const preambled = randomBytes.map(
  (b) => new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00, ...b]),
);
const truncated = fc.integer({ min: 0, max: real.length - 1 }).map((n) => real.slice(0, n));
const corrupted = fc
  .array(fc.tuple(fc.integer({ min: 0, max: real.length - 1 }), fc.integer({ min: 0, max: 255 })), {
    minLength: 1,
    maxLength: 6,
  })
  .map((edits) => {
    const bytes = real.slice();
    for (const [at, value] of edits) bytes[at] = value;
    return bytes;
  });
const wrapped = fc.constantFrom(...hostileCores).map((core) => rawComponent([1, core]));
const hostileCoreCorrupted = fc
  .tuple(fc.constantFrom(...hostileCores), fc.integer({ min: 8, max: 400 }), fc.integer({ min: 0, max: 255 }))
  .map(([core, at, value]) => {
    const bytes = core.slice();
    bytes[at % bytes.length] = value;
    return rawComponent([1, bytes]);
  });

test(`${RUNS} malformed or hostile modules are each refused with a clear error or run under the limits, and the host survives (seed ${SEED})`, async () => {
  const outcomes = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(randomBytes, preambled, truncated, corrupted, wrapped, hostileCoreCorrupted),
      async (bytes) => {
        let loaded: Awaited<ReturnType<typeof loadReducer>>;
        try {
          loaded = await loadReducer(bytes, { limits: { fuelPerMutation: 100_000 } });
        } catch (error) {
          expect(error).toBeInstanceOf(ReducerLoadError);
          const { kind, message } = error as ReducerLoadError;
          expect(KINDS.has(kind)).toBe(true);
          expect(message.length).toBeGreaterThan(10);
          outcomes.set(kind, (outcomes.get(kind) ?? 0) + 1);
          return;
        }
        try {
          loaded.instantiate(host).reduce([]);
          outcomes.set('ran', (outcomes.get('ran') ?? 0) + 1);
        } catch (error) {
          expect(error).toBeInstanceOf(ReducerTrap);
          outcomes.set('trapped', (outcomes.get('trapped') ?? 0) + 1);
        }
      },
    ),
    { seed: SEED, numRuns: RUNS },
  );
  for (const kind of [
    'not-wasm',
    'malformed',
    'forbidden-import',
    'memory-too-large',
    'forbidden-instruction',
  ]) {
    expect(outcomes.get(kind), `${kind} among ${JSON.stringify([...outcomes])}`).toBeGreaterThan(0);
  }
  const after = await loadReducer(real);
  expect(after.instantiate(host).reduce([])).toEqual([]);
}, 60_000);
