import fc from 'fast-check';
import { expect, test } from 'vitest';
import { applySequentially, type BatchTarget, type ReduceResult } from './apply.js';
import type { MutationEnvelope, Outcome } from './reducer/host.js';

// A model replica: a set of keys. Mutations are "add k" (rejected if present), "del k" (rejected
// if absent), "trap" (the reducer crashes), "heavy" (adds its key, using `cost` eighths of the
// fuel: a tentative run has 7, a verdict run 8) and "abort" (adds its key, using `cost` eighths of
// the SQL steps; past them SQLite ends the whole transaction, as an interrupted write does).
// Savepoints are copies of the set; so is the transaction's start (`begin`).
type Op =
  | { readonly kind: 'add' | 'del'; readonly key: number }
  | { readonly kind: 'trap' }
  | { readonly kind: 'heavy' | 'abort'; readonly key: number; readonly cost: number };

class ModelTarget implements BatchTarget {
  state = new Set<number>();
  private readonly stack: Set<number>[] = [];
  /** The state when the transaction began; `undefined` once SQLite ended it. */
  private begun: Set<number> | undefined = new Set();
  restarts = 0;
  abandons = 0;
  savepoints = 0;
  reduceCalls = 0;
  reduced = 0;
  /** The batch length of each verdict run. */
  readonly verdictRuns: number[] = [];

  /** Starts the transaction a batch runs in (the replica's BEGIN). */
  begin(): void {
    this.begun = new Set(this.state);
    this.stack.length = 0;
  }

  reduce(batch: readonly MutationEnvelope[], verdict: boolean): ReduceResult {
    if (this.begun === undefined) throw new Error('reduce outside a transaction');
    this.reduceCalls++;
    this.reduced += batch.length;
    if (verdict) this.verdictRuns.push(batch.length);
    const outcomes: Outcome[] = [];
    for (const m of batch) {
      const op = decode(m);
      if (op.kind === 'trap') {
        this.state.add(-1); // a write the trap must not leave behind
        return { trapped: true, reason: 'unreachable' };
      }
      if (op.kind === 'heavy') {
        this.state.add(op.key);
        if (op.cost > (verdict ? 8 : 7)) return { trapped: true, reason: 'fuel exhausted', limit: 'fuel' };
        outcomes.push({ ok: true });
        continue;
      }
      if (op.kind === 'abort') {
        this.state.add(op.key);
        if (op.cost > (verdict ? 8 : 7)) {
          this.state = this.begun;
          this.begun = undefined;
          this.stack.length = 0;
          return {
            trapped: true,
            reason: 'sql budget exhausted',
            limit: 'sql-steps',
            transactionLost: true,
          };
        }
        outcomes.push({ ok: true });
        continue;
      }
      const present = this.state.has(op.key);
      if (op.kind === 'add' && present) outcomes.push({ ok: false, reason: `${op.key} exists` });
      else if (op.kind === 'del' && !present) outcomes.push({ ok: false, reason: `${op.key} missing` });
      else {
        if (op.kind === 'add') this.state.add(op.key);
        else this.state.delete(op.key);
        outcomes.push({ ok: true });
      }
      // A rejected mutation writes anyway, as a buggy reducer might: the savepoint must undo it.
      if (!outcomes.at(-1)?.ok) this.state.add(1000 + outcomes.length);
    }
    return { trapped: false, outcomes };
  }
  savepoint(): void {
    if (this.begun === undefined) throw new Error('no such savepoint: the transaction has ended');
    this.savepoints++;
    this.stack.push(new Set(this.state));
  }
  release(): void {
    if (this.stack.pop() === undefined) throw new Error('release without savepoint');
  }
  rollback(): void {
    const saved = this.stack.pop();
    if (saved === undefined) throw new Error('rollback without savepoint');
    this.state = saved;
  }
  restart(): void {
    if (this.begun !== undefined) throw new Error('restart while the transaction is open');
    this.restarts++;
    this.begin();
  }
  abandon(): void {
    if (this.begun === undefined) throw new Error('rollback: the transaction has ended');
    if (this.stack.length > 0) throw new Error('abandon with a savepoint open');
    this.abandons++;
    this.state = this.begun;
    this.begin();
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const envelope = (op: Op, lsn: number): MutationEnvelope => ({
  timelineId: 't',
  lsn,
  timestamp: 0,
  payload: encoder.encode(JSON.stringify(op)),
});
const decode = (m: MutationEnvelope): Op => JSON.parse(decoder.decode(m.payload)) as Op;

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({ kind: fc.constantFrom('add' as const, 'del' as const), key: fc.nat(6) }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'trap' as const }) },
);
const withAbortsArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: opArb },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constantFrom('heavy' as const, 'abort' as const),
      key: fc.nat(6),
      cost: fc.integer({ min: 6, max: 9 }),
    }),
  },
);

test('a batch gets the outcomes and state of applying its mutations one at a time', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 40 }), fc.array(fc.nat(6), { maxLength: 4 }), (ops, initial) => {
      const batch = ops.map(envelope);
      const batched = new ModelTarget();
      const oneByOne = new ModelTarget();
      for (const key of initial) {
        batched.state.add(key);
        oneByOne.state.add(key);
      }
      batched.begin();
      oneByOne.begin();
      const outcomes = applySequentially(batched, batch);
      const expected = batch.flatMap((m) => {
        oneByOne.begin();
        return applySequentially(oneByOne, [m]);
      });
      expect(outcomes).toEqual(expected);
      expect([...batched.state].sort()).toEqual([...oneByOne.state].sort());
      expect([...batched.state].every((k) => k >= 0 && k < 1000)).toBe(true);
    }),
    { seed: Number(process.env.FC_SEED ?? 20261122), numRuns: 300, verbose: true },
  );
});

test('a batch gets the outcomes and state of applying its mutations one at a time, also when SQLite ends the transaction mid-batch', () => {
  fc.assert(
    fc.property(fc.array(withAbortsArb, { maxLength: 40 }), (ops) => {
      const batch = ops.map(envelope);
      const batched = new ModelTarget();
      const outcomes = applySequentially(batched, batch);
      const oneByOne = new ModelTarget();
      const expected = batch.flatMap((m) => {
        oneByOne.begin();
        return applySequentially(oneByOne, [m]);
      });
      expect(outcomes).toEqual(expected);
      expect([...batched.state].sort()).toEqual([...oneByOne.state].sort());
      expect([...batched.state].every((k) => k >= 0 && k < 1000)).toBe(true);
      const lost = ops.filter((op) => op.kind === 'abort' && op.cost > 8).length;
      if (lost > 0) expect(batched.restarts).toBeGreaterThanOrEqual(lost);
    }),
    { seed: Number(process.env.FC_SEED ?? 20261123), numRuns: 300, verbose: true },
  );
});

test('a mutation that ends the transaction is rejected alone, after a verdict run, and the writes before and after it stay', () => {
  const target = new ModelTarget();
  const ops: Op[] = [
    { kind: 'add', key: 1 },
    { kind: 'abort', key: 2, cost: 9 },
    { kind: 'abort', key: 3, cost: 8 },
    { kind: 'add', key: 4 },
  ];
  const outcomes = applySequentially(target, ops.map(envelope));
  expect(outcomes).toEqual([
    { ok: true },
    { ok: false, reason: 'sql budget exhausted' },
    { ok: true },
    { ok: true },
  ]);
  expect([...target.state].sort()).toEqual([1, 3, 4]);
  expect(target.verdictRuns).toEqual([1, 1]);
});

test('a batch without rejections costs one reduce call', () => {
  const target = new ModelTarget();
  const outcomes = applySequentially(
    target,
    [1, 2, 3, 4].map((key, i) => envelope({ kind: 'add', key }, i)),
  );
  expect(outcomes.every((o) => o.ok)).toBe(true);
  expect(target.reduceCalls).toBe(1);
});

test('a trapping mutation is rejected alone and the ones behind it still apply', () => {
  const target = new ModelTarget();
  const ops: Op[] = [{ kind: 'add', key: 1 }, { kind: 'trap' }, { kind: 'add', key: 2 }];
  const outcomes = applySequentially(target, ops.map(envelope));
  expect(outcomes).toEqual([
    { ok: true },
    { ok: false, reason: 'reducer trapped: unreachable' },
    { ok: true },
  ]);
  expect([...target.state].sort()).toEqual([1, 2]);
});

test('a limit reached outside a verdict run is decided by a verdict run of that mutation alone, whose reason is exactly the limit', () => {
  const target = new ModelTarget();
  const ops: Op[] = [
    { kind: 'add', key: 1 },
    { kind: 'heavy', key: 2, cost: 8 },
    { kind: 'heavy', key: 3, cost: 9 },
    { kind: 'add', key: 4 },
  ];
  const outcomes = applySequentially(target, ops.map(envelope));
  expect(outcomes).toEqual([
    { ok: true },
    { ok: true },
    { ok: false, reason: 'fuel exhausted' },
    { ok: true },
  ]);
  expect([...target.state].sort()).toEqual([1, 2, 4]);
  expect(target.verdictRuns).toEqual([1, 1]);
});

test('the work stays linear when many mutations are rejected', () => {
  const target = new ModelTarget();
  const ops: Op[] = Array.from({ length: 1000 }, (_, i) => ({
    kind: i % 3 === 0 ? 'del' : 'add',
    key: 10_000 + i,
  }));
  const outcomes = applySequentially(target, ops.map(envelope));
  expect(outcomes.filter((o) => !o.ok)).toHaveLength(334);
  expect(target.reduced).toBeLessThan(4 * ops.length);
});

test('a mutation alone in its transaction takes no savepoint, and when rejected or trapping leaves no writes', () => {
  const ops: Op[] = [
    { kind: 'add', key: 1 },
    { kind: 'add', key: 1 },
    { kind: 'trap' },
    { kind: 'del', key: 9 },
  ];
  const target = new ModelTarget();
  target.state.add(5);
  const outcomes = ops.map((op, lsn) => {
    target.begin();
    return applySequentially(target, [envelope(op, lsn)])[0];
  });
  expect(outcomes.map((o) => o?.ok)).toEqual([true, false, false, false]);
  expect([...target.state].sort()).toEqual([1, 5]);
  expect(target.savepoints).toBe(0);
  expect(target.abandons).toBe(3);
});

test('the first run of a batch takes no savepoint; runs after accepted mutations do', () => {
  const target = new ModelTarget();
  const ops: Op[] = [
    { kind: 'add', key: 1 },
    { kind: 'add', key: 2 },
    { kind: 'add', key: 1 },
    { kind: 'add', key: 3 },
  ];
  const outcomes = applySequentially(target, ops.map(envelope));
  expect(outcomes.map((o) => o.ok)).toEqual([true, true, false, true]);
  expect([...target.state].sort()).toEqual([1, 2, 3]);
  // The first run [1, 2, 1, 3] is bare and abandoned at its rejection; its prefix runs bare again; then
  // the rejected one and the rest run in savepoints.
  expect(target.abandons).toBe(1);
  expect(target.savepoints).toBeGreaterThan(0);
});
