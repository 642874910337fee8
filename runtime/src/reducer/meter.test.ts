import { describe, expect, test } from 'vitest';
import { component, coreModule, minimalGuest, REALLOC, rawComponent } from './fixtures.test-helpers.js';
import {
  type LimitKind,
  type MutationEnvelope,
  type ReducerImports,
  ReducerLoadError,
  ReducerTrap,
} from './host.js';
import { LIMIT_REASONS } from './limits.js';
import { BULK_BYTES_PER_FUEL, frameBytes, MAX_NESTING } from './meter.js';
import { loadReducer } from './prepare.js';

/**
 * A guest for metering. For each mutation i it calls enter(i), then reads its 12-byte payload:
 * bytes 0–3 a loop count (-1: forever), 4–7 pages to grow memory by, 8 non-zero to enter i again.
 * Every outcome is ok.
 */
const METER_GUEST = `(module
  (import "tandem:reducer/env@0.2.0" "enter" (func $enter (param i32)))
  (memory (export "memory") 1)
  ${REALLOC}
  (func (export "schema-version") (result i32) (i32.const 1))
  (func (export "migrate") (param i32) (result i32) (i32.store8 (i32.const 16) (i32.const 0)) (i32.const 16))
  (func $spin (param $k i32)
    (loop $again
      (br_if $again (i32.eq (local.get $k) (i32.const -1)))
      (if (i32.gt_s (local.get $k) (i32.const 0))
        (then (local.set $k (i32.sub (local.get $k) (i32.const 1))) (br $again)))))
  (func (export "reduce") (param $list i32) (param $len i32) (result i32)
    (local $i i32) (local $p i32) (local $outs i32)
    (local.set $outs (call $realloc (i32.const 0) (i32.const 0) (i32.const 4) (i32.mul (local.get $len) (i32.const 12))))
    (memory.fill (local.get $outs) (i32.const 0) (i32.mul (local.get $len) (i32.const 12)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (call $enter (local.get $i))
        (local.set $p (i32.load (i32.add (i32.add (local.get $list) (i32.mul (local.get $i) (i32.const 32))) (i32.const 24))))
        (call $spin (i32.load (local.get $p)))
        (drop (memory.grow (i32.load (i32.add (local.get $p) (i32.const 4)))))
        (if (i32.load8_u (i32.add (local.get $p) (i32.const 8))) (then (call $enter (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))
    (call $enter (local.get $len))
    (i32.store (i32.const 32) (local.get $outs))
    (i32.store (i32.const 36) (local.get $len))
    (i32.const 32))
)`;

const meterGuest = await component(METER_GUEST);

function command(loops: number, growPages = 0, enterTwice = false, lsn = 0): MutationEnvelope {
  const payload = new Uint8Array(12);
  const view = new DataView(payload.buffer);
  view.setInt32(0, loops, true);
  view.setInt32(4, growPages, true);
  payload[8] = enterTwice ? 1 : 0;
  return { timelineId: 't', lsn, timestamp: 0, payload };
}

const host: ReducerImports = {
  execute: () => 0n,
  executeBatch: () => 0n,
  query: () => ({ columns: [], rows: [] }),
  log: () => {},
  enter: () => {},
  now: () => 0n,
  random: () => 0n,
};

function trapOf(fn: () => unknown): ReducerTrap {
  try {
    fn();
  } catch (error) {
    if (error instanceof ReducerTrap) return error;
    throw error;
  }
  throw new Error('expected a ReducerTrap');
}

async function loadError(bytes: Uint8Array, limits = {}): Promise<ReducerLoadError> {
  const error = await loadReducer(bytes, { limits }).catch((e: unknown) => e);
  if (error instanceof ReducerLoadError) return error;
  throw new Error(`expected a ReducerLoadError, got ${String(error)}`);
}

/**
 * For each mutation: recurses as deep as the payload's bytes 0–3 say, then makes as many calls as
 * bytes 4–7 say to a function 9 deep whose frames exit through `return`s inside nested blocks.
 */
const STACK_GUEST = `(module
  (import "tandem:reducer/env@0.2.0" "enter" (func $enter (param i32)))
  (memory (export "memory") 1)
  ${REALLOC}
  (func (export "schema-version") (result i32) (i32.const 1))
  (func (export "migrate") (param i32) (result i32) (i32.store8 (i32.const 16) (i32.const 0)) (i32.const 16))
  (func $down (param $n i32) (result i32)
    (if (i32.le_s (local.get $n) (i32.const 0)) (then (return (i32.const 0))))
    (block $early
      (br_if $early (i32.eq (i32.and (local.get $n) (i32.const 1)) (i32.const 0)))
      (return (i32.add (call $down (i32.sub (local.get $n) (i32.const 1))) (i32.const 1))))
    (i32.add (call $down (i32.sub (local.get $n) (i32.const 1))) (i32.const 1)))
  (func (export "reduce") (param $list i32) (param $len i32) (result i32)
    (local $p i32) (local $k i32) (local $outs i32)
    (local.set $outs (call $realloc (i32.const 0) (i32.const 0) (i32.const 4) (i32.mul (local.get $len) (i32.const 12))))
    (memory.fill (local.get $outs) (i32.const 0) (i32.mul (local.get $len) (i32.const 12)))
    (if (local.get $len) (then
      (call $enter (i32.const 0))
      (local.set $p (i32.load (i32.add (local.get $list) (i32.const 24))))
      (drop (call $down (i32.load (local.get $p))))
      (local.set $k (i32.load (i32.add (local.get $p) (i32.const 4))))
      (block $done (loop $again
        (br_if $done (i32.le_s (local.get $k) (i32.const 0)))
        (drop (call $down (i32.const 9)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br $again)))))
    (i32.store (i32.const 32) (local.get $outs))
    (i32.store (i32.const 36) (local.get $len))
    (i32.const 32))
)`;
const stackGuest = await component(STACK_GUEST);

describe('fuel', () => {
  test('a guest looping forever traps with the fuel limit, and a new instance works', async () => {
    const reducer = await loadReducer(meterGuest, { limits: { fuelPerMutation: 100_000 } });
    const instance = reducer.instantiate(host);
    const trap = trapOf(() => instance.reduce([command(-1)]));
    expect(trap.limit).toBe<LimitKind>('fuel');
    expect(trap.message).toBe(LIMIT_REASONS.fuel);
    expect(reducer.instantiate(host).reduce([command(10)])).toEqual([{ ok: true }]);
  });

  test('a loop stops after the same amount of work in every run: the largest count that fits never changes', async () => {
    const reducer = await loadReducer(meterGuest, { limits: { fuelPerMutation: 5_000 } });
    const fits = (k: number) => {
      try {
        reducer.instantiate(host).reduce([command(k)], { verdict: true });
        return true;
      } catch (error) {
        if (error instanceof ReducerTrap && error.limit === 'fuel') return false;
        throw error;
      }
    };
    let largest = 0;
    while (fits(largest + 1)) largest++;
    expect(largest).toBeGreaterThan(4_900);
    expect(largest).toBeLessThan(5_000);
    for (let run = 0; run < 5; run++) {
      expect(fits(largest)).toBe(true);
      expect(fits(largest + 1)).toBe(false);
    }
  });

  test('fuel is per mutation: a batch whose mutations each fit runs, however large their sum', async () => {
    const reducer = await loadReducer(meterGuest, { limits: { fuelPerMutation: 10_000 } });
    const batch = Array.from({ length: 20 }, (_, i) => command(8_000, 0, false, i));
    expect(reducer.instantiate(host).reduce(batch)).toHaveLength(20);
  });

  test('a tentative run gets 7/8 of the fuel and a verdict run all of it', async () => {
    const reducer = await loadReducer(meterGuest, { limits: { fuelPerMutation: 8_000 } });
    expect(trapOf(() => reducer.instantiate(host).reduce([command(7_500)])).limit).toBe('fuel');
    expect(reducer.instantiate(host).reduce([command(7_500)], { verdict: true })).toEqual([{ ok: true }]);
  });

  test('entering the same mutation twice traps, so a guest cannot refill its fuel', async () => {
    const reducer = await loadReducer(meterGuest);
    const trap = trapOf(() => reducer.instantiate(host).reduce([command(0, 0, true)]));
    expect(trap.limit).toBeUndefined();
    expect(trap.message).toMatch(/each mutation is entered once, in order/);
  });

  test('the start function is metered too', async () => {
    const wat = minimalGuest('(func $start (loop $l (br $l))) (start $start)');
    const reducer = await loadReducer(rawComponent([1, await coreModule(wat)]));
    expect(() => reducer.instantiate(host)).toThrow(ReducerTrap);
  });
});

/**
 * For one mutation: enter(0), then a bulk memory instruction of the payload's bytes 0–3 bytes, which
 * one by byte 4 (0 memory.fill, 1 memory.copy, 2 memory.init from a 4-byte passive segment).
 */
const BULK_GUEST = `(module
  (import "tandem:reducer/env@0.2.0" "enter" (func $enter (param i32)))
  (memory (export "memory") 256)
  (data $four "abcd")
  ${REALLOC}
  (func (export "schema-version") (result i32) (i32.const 1))
  (func (export "migrate") (param i32) (result i32) (i32.store8 (i32.const 16) (i32.const 0)) (i32.const 16))
  (func (export "reduce") (param $list i32) (param $len i32) (result i32)
    (local $p i32) (local $size i32) (local $op i32)
    (call $enter (i32.const 0))
    (local.set $p (i32.load (i32.add (local.get $list) (i32.const 24))))
    (local.set $size (i32.load (local.get $p)))
    (local.set $op (i32.load8_u (i32.add (local.get $p) (i32.const 4))))
    (if (i32.eqz (local.get $op)) (then (memory.fill (i32.const 65536) (i32.const 7) (local.get $size))))
    (if (i32.eq (local.get $op) (i32.const 1)) (then (memory.copy (i32.const 65536) (i32.const 0) (local.get $size))))
    (if (i32.eq (local.get $op) (i32.const 2)) (then (memory.init $four (i32.const 65536) (i32.const 0) (local.get $size))))
    (call $enter (i32.const 1))
    (i32.store8 (i32.const 512) (i32.const 0))
    (i32.store (i32.const 32) (i32.const 512))
    (i32.store (i32.const 36) (local.get $len))
    (i32.const 32))
)`;
const bulkGuest = await component(BULK_GUEST);

function bulk(bytes: number, op: 0 | 1 | 2): MutationEnvelope {
  const payload = new Uint8Array(5);
  new DataView(payload.buffer).setUint32(0, bytes, true);
  payload[4] = op;
  return { timelineId: 't', lsn: 0, timestamp: 0, payload };
}

describe('bulk memory', () => {
  test('memory.fill, memory.copy and memory.init pay fuel for every 64 bytes they move, before moving them', async () => {
    const fuel = 100_000;
    const reducer = await loadReducer(bulkGuest, { limits: { fuelPerMutation: fuel } });
    const fits = BULK_BYTES_PER_FUEL * (fuel / 2);
    const exceeds = BULK_BYTES_PER_FUEL * (fuel + 1);
    for (const op of [0, 1] as const) {
      expect(reducer.instantiate(host).reduce([bulk(fits, op)], { verdict: true })).toEqual([{ ok: true }]);
      const trap = trapOf(() => reducer.instantiate(host).reduce([bulk(exceeds, op)], { verdict: true }));
      expect(trap.limit).toBe<LimitKind>('fuel');
    }
    expect(reducer.instantiate(host).reduce([bulk(4, 2)], { verdict: true })).toEqual([{ ok: true }]);
    // Charged before it runs: the fuel trap comes first, not the segment's bounds check.
    expect(trapOf(() => reducer.instantiate(host).reduce([bulk(exceeds, 2)])).limit).toBe<LimitKind>('fuel');
  });
});

/**
 * Spins before entering the first mutation and after entering the batch length, as many loop
 * iterations as the first mutation's payload says (bytes 0–3 before, 4–7 after); byte 8 non-zero
 * skips entering the last mutation, byte 9 non-zero the first.
 */
const PHASE_GUEST = `(module
  (import "tandem:reducer/env@0.2.0" "enter" (func $enter (param i32)))
  (memory (export "memory") 1)
  ${REALLOC}
  (func (export "schema-version") (result i32) (i32.const 1))
  (func (export "migrate") (param i32) (result i32) (i32.store8 (i32.const 16) (i32.const 0)) (i32.const 16))
  (func $spin (param $k i32)
    (loop $again
      (if (i32.gt_s (local.get $k) (i32.const 0))
        (then (local.set $k (i32.sub (local.get $k) (i32.const 1))) (br $again)))))
  (func (export "reduce") (param $list i32) (param $len i32) (result i32)
    (local $i i32) (local $p i32) (local $entered i32) (local $outs i32)
    (local.set $outs (call $realloc (i32.const 0) (i32.const 0) (i32.const 4) (i32.mul (local.get $len) (i32.const 12))))
    (memory.fill (local.get $outs) (i32.const 0) (i32.mul (local.get $len) (i32.const 12)))
    (local.set $p (i32.load (i32.add (local.get $list) (i32.const 24))))
    (call $spin (i32.load (local.get $p)))
    (local.set $entered (i32.sub (local.get $len) (i32.load8_u offset=8 (local.get $p))))
    (local.set $i (i32.load8_u offset=9 (local.get $p)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $entered)))
        (call $enter (local.get $i))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))
    (if (i32.eq (local.get $entered) (local.get $len)) (then (call $enter (local.get $len))))
    (call $spin (i32.load offset=4 (local.get $p)))
    (i32.store (i32.const 32) (local.get $outs))
    (i32.store (i32.const 36) (local.get $len))
    (i32.const 32))
)`;
const phaseGuest = await component(PHASE_GUEST);

function phases(
  before: number,
  after: number,
  skipLast = false,
  length = 1,
  skipFirst = false,
): MutationEnvelope[] {
  const payload = new Uint8Array(12);
  const view = new DataView(payload.buffer);
  view.setInt32(0, before, true);
  view.setInt32(4, after, true);
  payload[8] = skipLast ? 1 : 0;
  payload[9] = skipFirst ? 1 : 0;
  return Array.from({ length }, (_, lsn) => ({ timelineId: 't', lsn, timestamp: 0, payload }));
}

describe('the phases of a batch', () => {
  test('the work before the first mutation and after the last gets one mutation’s fuel, however long the batch', async () => {
    const reducer = await loadReducer(phaseGuest, { limits: { fuelPerMutation: 10_000 } });
    for (const length of [1, 4, 32]) {
      expect(reducer.instantiate(host).reduce(phases(5_000, 5_000, false, length))).toHaveLength(length);
      const before = trapOf(() => reducer.instantiate(host).reduce(phases(15_000, 0, false, length)));
      expect(before.limit).toBe<LimitKind>('fuel');
      const after = trapOf(() => reducer.instantiate(host).reduce(phases(0, 15_000, false, length)));
      expect(after.limit).toBe<LimitKind>('fuel');
    }
  });

  test('a guest that returns without entering every mutation traps: it cannot spend the budgets of the ones it skipped', async () => {
    const reducer = await loadReducer(phaseGuest);
    const trap = trapOf(() => reducer.instantiate(host).reduce(phases(0, 0, true, 3)));
    expect(trap.limit).toBeUndefined();
    expect(trap.message).toMatch(/entered 2 of 3 mutations: each mutation is entered once, in order/);
  });

  test('entering a mutation past the next one traps', async () => {
    const reducer = await loadReducer(phaseGuest);
    const trap = trapOf(() => reducer.instantiate(host).reduce(phases(0, 0, false, 3, true)));
    expect(trap.message).toMatch(/enter\(1\) after enter\(-1\) .*each mutation is entered once, in order/);
  });
});

describe('memory', () => {
  test('growing memory past the limit traps with the memory limit', async () => {
    const reducer = await loadReducer(meterGuest, { limits: { maxMemoryPages: 4 } });
    expect(reducer.instantiate(host).reduce([command(0, 3)])).toEqual([{ ok: true }]);
    const trap = trapOf(() => reducer.instantiate(host).reduce([command(0, 4)]));
    expect(trap.limit).toBe<LimitKind>('memory');
    expect(trap.message).toBe(LIMIT_REASONS.memory);
  });

  test('a memory that starts above the limit is refused at load, naming both sizes', async () => {
    const wat = minimalGuest().replace('(memory (export "memory") 1)', '(memory (export "memory") 600)');
    const error = await loadError(rawComponent([1, await coreModule(wat)]));
    expect(error.kind).toBe('memory-too-large');
    expect(error.message).toMatch(/600 pages .*the limit is 512 pages/);
  });

  test('the limits are a module property, and a module can be loaded under other ones', async () => {
    const tight = await loadReducer(meterGuest, { limits: { maxMemoryPages: 2 } });
    const roomy = await loadReducer(meterGuest, { limits: { maxMemoryPages: 64 } });
    expect(tight.limits.maxMemoryPages).toBe(2);
    expect(trapOf(() => tight.instantiate(host).reduce([command(0, 8)])).limit).toBe('memory');
    expect(roomy.instantiate(host).reduce([command(0, 8)])).toEqual([{ ok: true }]);
  });
});

describe('stack', () => {
  test('unbounded recursion stops at the stack limit, at the same depth in every run', async () => {
    const reducer = await loadReducer(stackGuest, { limits: { maxStackBytes: 64 * 1024 } });
    const fits = (depth: number) => {
      try {
        reducer.instantiate(host).reduce([command(depth)]);
        return true;
      } catch (error) {
        if (error instanceof ReducerTrap && error.limit === 'stack') return false;
        throw error;
      }
    };
    const trap = trapOf(() => reducer.instantiate(host).reduce([command(1_000_000_000)]));
    expect(trap.limit).toBe<LimitKind>('stack');
    expect(trap.message).toBe(LIMIT_REASONS.stack);
    let lo = 0;
    let hi = 100_000;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (fits(mid)) lo = mid;
      else hi = mid - 1;
    }
    // $down has one local and holds at most 3 operands: 160 bytes a frame.
    expect(lo).toBeGreaterThan(350);
    expect(lo).toBeLessThan((64 * 1024) / frameBytes(1, 3));
    for (let run = 0; run < 3; run++) expect([fits(lo), fits(lo + 1)]).toEqual([true, false]);
  });

  test('every exit pops its frame: returns from nested blocks never add up to the limit', async () => {
    const reducer = await loadReducer(stackGuest, { limits: { maxStackBytes: 4_096 } });
    expect(reducer.instantiate(host).reduce([command(0, 100_000)])).toEqual([{ ok: true }]);
  });

  test('a return inside a catch body pops its frame too', async () => {
    const wat = minimalGuest(`
      (tag $oops)
      (func $caught (result i32)
        (try (result i32)
          (do (throw $oops))
          (catch_all (return (i32.const 1)))))
      (func $start (local $k i32)
        (local.set $k (i32.const 10000))
        (loop $again
          (drop (call $caught))
          (br_if $again (local.tee $k (i32.sub (local.get $k) (i32.const 1))))))
      (start $start)`);
    // wasm-tools cannot write legacy exception handling (what V8 runs here); binaryen can.
    const { default: binaryen } = await import('binaryen');
    const module = binaryen.parseText(wat);
    module.setFeatures(binaryen.Features.All);
    const core = module.emitBinary();
    module.dispose();
    const reducer = await loadReducer(rawComponent([1, core]), { limits: { maxStackBytes: 1_024 } });
    expect(reducer.instantiate(host).reduce([])).toEqual([]);
  });

  test('tail calls are refused: the stack meter needs every call to return', async () => {
    const wat = minimalGuest('(func $f (return_call $f))');
    const error = await loadError(rawComponent([1, await coreModule(wat)]));
    expect(error.kind).toBe('forbidden-instruction');
    expect(error.message).toMatch(/tail call/);
  });
});

describe('what the meter refuses at load', () => {
  test('atomics are refused: a reducer has no threads', async () => {
    const wat = minimalGuest('(func $f (drop (i32.atomic.load (i32.const 0))))');
    const error = await loadError(rawComponent([1, await coreModule(wat)]));
    expect(error.kind).toBe('forbidden-instruction');
    expect(error.message).toMatch(/atomic .*threads/);
  });

  test('table.grow is refused: the meter does not bound it', async () => {
    const wat = minimalGuest(
      '(table $t 1 funcref) (func $f (drop (table.grow $t (ref.null func) (i32.const 1))))',
    );
    const error = await loadError(rawComponent([1, await coreModule(wat)]));
    expect(error.kind).toBe('forbidden-instruction');
    expect(error.message).toMatch(/`TableGrow`/);
  });

  test('expressions nested past the fixed depth are refused as too deep, and the host keeps loading others', async () => {
    const nested = (depth: number) => `(func $f ${'(block '.repeat(depth)}${')'.repeat(depth)})`;
    const error = await loadError(rawComponent([1, await coreModule(minimalGuest(nested(20_000)))]));
    expect(error.kind).toBe('too-deep');
    expect(error.message).toMatch(new RegExp(`more than ${MAX_NESTING} deep`));
    expect(
      (await loadError(rawComponent([1, await coreModule(minimalGuest(nested(MAX_NESTING + 1)))]))).kind,
    ).toBe('too-deep');
    await expect(
      loadReducer(rawComponent([1, await coreModule(minimalGuest(nested(MAX_NESTING - 1)))])),
    ).resolves.toBeDefined();
  });

  test('limits that are not positive integers are a RangeError', async () => {
    await expect(loadReducer(meterGuest, { limits: { fuelPerMutation: 0 } })).rejects.toThrow(RangeError);
    await expect(loadReducer(meterGuest, { limits: { maxMemoryPages: 1.5 } })).rejects.toThrow(RangeError);
  });
});
