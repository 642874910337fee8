import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import type { RowSet, Value } from '../value.js';
import { component, coreModule, FULL_GUEST, minimalGuest, rawComponent } from './fixtures.test-helpers.js';
import {
  type LogLevel,
  type MutationEnvelope,
  type ReducerImports,
  type ReducerInstance,
  ReducerLoadError,
  ReducerTrap,
} from './host.js';
import { loadReducer, prepareReducer } from './prepare.js';

type Call =
  | { readonly fn: 'execute' | 'query'; readonly sql: string; readonly params: readonly Value[] }
  | { readonly fn: 'executeBatch'; readonly sql: string; readonly rows: readonly (readonly Value[])[] }
  | { readonly fn: 'log'; readonly level: LogLevel; readonly message: string }
  | { readonly fn: 'enter'; readonly index: number };

/** A host that records every call and answers from the overrides given. */
function fakeHost(overrides: Partial<ReducerImports> = {}): { calls: Call[]; imports: ReducerImports } {
  const calls: Call[] = [];
  const imports: ReducerImports = {
    execute: (sql, params) => {
      calls.push({ fn: 'execute', sql, params });
      return 1n;
    },
    executeBatch: (sql, rows) => {
      calls.push({ fn: 'executeBatch', sql, rows });
      return BigInt(rows.length);
    },
    query: (sql, params) => {
      calls.push({ fn: 'query', sql, params });
      return { columns: [], rows: [] };
    },
    log: (level, message) => {
      calls.push({ fn: 'log', level, message });
    },
    enter: (index) => {
      calls.push({ fn: 'enter', index });
    },
    now: () => 0n,
    random: () => 0n,
    ...overrides,
  };
  return { calls, imports };
}

const utf8 = new TextEncoder();

function mutation(payload: string, lsn = 0): MutationEnvelope {
  return { timelineId: 'timeline-1', lsn, timestamp: 1_700_000_000_000, payload: utf8.encode(payload) };
}

function trapOf(fn: () => unknown): ReducerTrap {
  try {
    fn();
  } catch (error) {
    if (error instanceof ReducerTrap) return error;
    throw error;
  }
  throw new Error('expected a ReducerTrap');
}

const fullBytes = await component(FULL_GUEST);
const full = await loadReducer(fullBytes);

describe('loading', () => {
  test('a loaded reducer reports its prepared hash and size, its component, imports and exports', async () => {
    const prepared = await prepareReducer(fullBytes);
    expect(full.sha256).toBe(createHash('sha256').update(prepared).digest('hex'));
    expect(full.bytes).toBe(prepared.length);
    expect(full.component).toEqual({
      sha256: createHash('sha256').update(fullBytes).digest('hex'),
      bytes: fullBytes.length,
    });
    expect(full.imports).toEqual([
      'tandem:reducer/sql@0.2.0#execute',
      'tandem:reducer/sql@0.2.0#execute-batch',
      'tandem:reducer/sql@0.2.0#query',
      'tandem:reducer/env@0.2.0#log',
      'tandem:reducer/env@0.2.0#enter',
      'tandem:reducer/env@0.2.0#now',
      'tandem:reducer/env@0.2.0#random',
    ]);
    expect(full.exports).toEqual(['schema-version', 'migrate', 'reduce']);
  });

  test('an ArrayBuffer loads like the same bytes in a Uint8Array', async () => {
    const buffer = fullBytes.slice().buffer;
    expect((await loadReducer(buffer)).sha256).toBe(full.sha256);
  });

  test('a component larger than the limit is too-large', async () => {
    const error = await loadReducer(fullBytes, { limits: { maxModuleBytes: 1000 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReducerLoadError);
    expect((error as ReducerLoadError).kind).toBe('too-large');
  });

  test('a main module that parses but does not compile is malformed', async () => {
    const wat = minimalGuest('(func (export "broken") (result i32) (i64.const 1))');
    const { parse } = await import('@bytecodealliance/jco');
    const error = await loadReducer(rawComponent([1, await parse(wat)])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReducerLoadError);
    expect((error as ReducerLoadError).kind).toBe('malformed');
    expect((error as ReducerLoadError).message).toContain('does not compile');
  });
});

describe('calling a reducer', () => {
  test('reduce enters each mutation, passes its payload to execute, and returns its outcomes in order', () => {
    const { calls, imports } = fakeHost();
    const instance = full.instantiate(imports);
    const batch = ['a', 'cé', '🌍', ''].map((p, i) => mutation(p, i));
    expect(instance.reduce(batch)).toEqual([
      { ok: true },
      { ok: false, reason: 'odd' },
      { ok: true },
      { ok: false, reason: 'odd' },
    ]);
    const insert = 'INSERT INTO t VALUES (?)';
    expect(calls).toEqual(
      ['a', 'cé', '🌍', ''].flatMap((p, index) => [
        { fn: 'enter', index },
        { fn: 'execute', sql: insert, params: [{ tag: 'text', val: p }] },
      ]),
    );
  });

  test('a throw from execute reaches the guest as err(message), not a trap', () => {
    const { imports } = fakeHost({
      execute: () => {
        throw new Error('UNIQUE constraint failed: t.x');
      },
    });
    const instance = full.instantiate(imports);
    expect(instance.reduce([mutation('a'), mutation('c', 1)])).toEqual([
      { ok: false, reason: 'UNIQUE constraint failed: t.x' },
      { ok: false, reason: 'UNIQUE constraint failed: t.x' },
    ]);
    expect(instance.schemaVersion()).toBe(101);
  });

  test("a SQL error reaches the guest with its code beside its message: the error's numeric code, else SQLITE_ERROR", () => {
    const codeOf = (reason: string) => new DataView(utf8.encode(reason).buffer).getInt32(0, true);
    const thrown: unknown[] = [
      Object.assign(new Error('UNIQUE constraint failed: t.x'), { code: 2067 }),
      new Error('no code'),
      'a string',
      { code: '19' },
    ];
    const codes = thrown.map((error) => {
      const { imports } = fakeHost({
        execute: () => {
          throw error;
        },
      });
      const [outcome] = full.instantiate(imports).reduce([mutation('k')]);
      if (outcome?.ok !== false) throw new Error('expected an err outcome');
      return codeOf(outcome.reason);
    });
    expect(codes).toEqual([2067, 1, 1, 1]);
  });

  test('query lifts its parameters and lowers the row set it returns', () => {
    const rows: RowSet = {
      columns: ['greeting', 'n'],
      rows: [
        [
          { tag: 'text', val: 'héllo wörld 🌍' },
          { tag: 'integer', val: -(2n ** 63n) },
        ],
      ],
    };
    const { calls, imports } = fakeHost({
      query: (sql, params) => {
        calls.push({ fn: 'query', sql, params });
        return rows;
      },
    });
    const lsn = Number.MAX_SAFE_INTEGER;
    expect(full.instantiate(imports).reduce([mutation('q', lsn)])).toEqual([
      { ok: false, reason: 'héllo wörld 🌍' },
    ]);
    expect(calls[1]).toEqual({
      fn: 'query',
      sql: 'SELECT ?',
      params: [{ tag: 'integer', val: BigInt(lsn) }],
    });
  });

  test('a throw from query reaches the guest as err(message)', () => {
    const { imports } = fakeHost({
      query: () => {
        throw 'no such table: t';
      },
    });
    expect(full.instantiate(imports).reduce([mutation('q')])).toEqual([
      { ok: false, reason: 'no such table: t' },
    ]);
  });

  test('execute-batch lifts a list of parameter rows', () => {
    const { calls, imports } = fakeHost();
    expect(full.instantiate(imports).reduce([mutation('b1')])).toEqual([{ ok: true }]);
    const row = [{ tag: 'text', val: 'b1' }];
    expect(calls[1]).toEqual({ fn: 'executeBatch', sql: 'INSERT INTO t VALUES (?)', rows: [row, row] });
  });

  test('now and random cross as 64-bit patterns, extremes included', () => {
    const { calls, imports } = fakeHost({ now: () => 2n ** 64n - 1n, random: () => 2n ** 63n });
    full.instantiate(imports).reduce([mutation('n')]);
    expect(calls[1]).toEqual({
      fn: 'execute',
      sql: 'INSERT INTO t VALUES (?)',
      params: [
        { tag: 'integer', val: -1n },
        { tag: 'integer', val: -(2n ** 63n) },
      ],
    });
  });

  test('log passes each level and its message', () => {
    const { calls, imports } = fakeHost();
    full
      .instantiate(imports)
      .reduce([mutation('l0dbg'), mutation('l1ïnfo', 1), mutation('l2w', 2), mutation('l3', 3)]);
    expect(calls.filter((c) => c.fn === 'log')).toEqual([
      { fn: 'log', level: 'debug', message: 'dbg' },
      { fn: 'log', level: 'info', message: 'ïnfo' },
      { fn: 'log', level: 'warn', message: 'w' },
      { fn: 'log', level: 'error', message: '' },
    ]);
  });

  test("a log at level abort traps there, with the guest's message as the reason; the host's log never sees it", () => {
    const { calls, imports } = fakeHost();
    const instance = full.instantiate(imports);
    const trap = trapOf(() =>
      instance.reduce([
        mutation('l1before', 0),
        mutation('l4x must be positive at assembly/index.ts:3:5', 1),
      ]),
    );
    expect(trap.message).toBe('abort: x must be positive at assembly/index.ts:3:5');
    expect(trap.limit).toBeUndefined();
    expect(calls.filter((c) => c.fn === 'log')).toEqual([{ fn: 'log', level: 'info', message: 'before' }]);
    expect(() => instance.schemaVersion()).toThrow(/trapped earlier \(abort: x must be positive/);
    expect(trapOf(() => full.instantiate(imports).reduce([mutation('l5')])).message).toContain(
      'log level 5 is not one of the 5 levels',
    );
  });

  test('migrate lifts ok and err', () => {
    const instance = full.instantiate(fakeHost().imports);
    expect(instance.migrate(0)).toEqual({ ok: true });
    expect(instance.migrate(3)).toEqual({ ok: false, reason: 'no migration from here' });
  });

  test('post-return runs once per reduce, after the outcomes were lifted', () => {
    const instance = full.instantiate(fakeHost().imports);
    expect(instance.schemaVersion()).toBe(100);
    for (let i = 1; i <= 3; i++) {
      expect(instance.reduce([mutation('a'), mutation('c', 1)])).toEqual([
        { ok: true },
        { ok: false, reason: 'odd' },
      ]);
      expect(instance.schemaVersion()).toBe(100 + i);
    }
  });

  test('an empty batch reaches the guest and yields no outcomes', () => {
    const { calls, imports } = fakeHost();
    const instance = full.instantiate(imports);
    expect(instance.reduce([])).toEqual([]);
    expect(calls).toEqual([]);
    expect(instance.schemaVersion()).toBe(101);
  });

  test('memory growth in the guest and in host lowering keeps every value intact', () => {
    const { calls, imports } = fakeHost({
      execute: (sql, params) => {
        calls.push({ fn: 'execute', sql, params });
        throw new Error('é'.repeat(100_000));
      },
    });
    const big = `g${'x'.repeat(300_000)}`;
    const outcomes = full.instantiate(imports).reduce([mutation(big), mutation('g', 1)]);
    expect(outcomes).toEqual([
      { ok: false, reason: 'é'.repeat(100_000) },
      { ok: false, reason: 'é'.repeat(100_000) },
    ]);
    expect(calls[1]).toEqual({
      fn: 'execute',
      sql: 'INSERT INTO t VALUES (?)',
      params: [{ tag: 'text', val: big }],
    });
  });

  test('cm32p2 exports are called, and the initialize export runs before anything else', async () => {
    const wat = minimalGuest(
      `(global $ready (mut i32) (i32.const 0))
       (func (export "cm32p2_initialize") (global.set $ready (i32.const 41)))
       (func (export "cm32p2||reduce_post") (param i32))`,
      'cm32p2||',
    ).replace(
      '(func (export "cm32p2||schema-version") (result i32) (i32.const 1))',
      '(func (export "cm32p2||schema-version") (result i32) (i32.add (global.get $ready) (i32.const 1)))',
    );
    const instance = (await loadReducer(await component(wat))).instantiate(fakeHost().imports);
    expect(instance.schemaVersion()).toBe(42);
    // The guest imports no `enter`, so only an empty batch is one it may return from.
    expect(instance.reduce([])).toEqual([]);
  });

  test('a malformed envelope is refused before the guest runs, and the instance stays usable', () => {
    const { calls, imports } = fakeHost();
    const instance = full.instantiate(imports);
    expect(() => instance.reduce([{ ...mutation('a'), lsn: -1 }])).toThrow(RangeError);
    expect(() => instance.reduce([{ ...mutation('a'), timestamp: 1.5 }])).toThrow(RangeError);
    expect(() => instance.migrate(-1)).toThrow(RangeError);
    expect(calls).toEqual([]);
    expect(instance.reduce([mutation('a')])).toEqual([{ ok: true }]);
  });
});

describe('traps', () => {
  test('a guest trap is a ReducerTrap; the instance is dead after it and a new one works', () => {
    const instance = full.instantiate(fakeHost().imports);
    expect(trapOf(() => instance.reduce([mutation('a'), mutation('t', 1)])).message).toContain('unreachable');
    expect(trapOf(() => instance.schemaVersion()).message).toContain('trapped earlier');
    expect(full.instantiate(fakeHost().imports).reduce([mutation('a')])).toEqual([{ ok: true }]);
  });

  test('a list pointer outside memory is a ReducerTrap, and the host is intact', () => {
    const instance = full.instantiate(fakeHost().imports);
    const trap = trapOf(() => instance.reduce([mutation('x')]));
    expect(trap.message).toBe(
      "reduce's list of outcomes at 4294967280 (12 bytes) ends past the end of memory (65536)",
    );
    expect(full.instantiate(fakeHost().imports).reduce([mutation('a')])).toEqual([{ ok: true }]);
  });

  test('a SQL pointer outside memory traps inside the import', () => {
    const { calls, imports } = fakeHost();
    const trap = trapOf(() => full.instantiate(imports).reduce([mutation('s')]));
    expect(trap.message).toContain('the SQL at 4294967040');
    expect(calls.filter((c) => c.fn === 'execute')).toEqual([]);
  });

  test('a wrong number of outcomes is a ReducerTrap', () => {
    const trap = trapOf(() => full.instantiate(fakeHost().imports).reduce([mutation('w'), mutation('a', 1)]));
    expect(trap.message).toBe('reduce returned 1 outcomes for a batch of 2');
  });

  test('a log level outside the enum traps', () => {
    const trap = trapOf(() => full.instantiate(fakeHost().imports).reduce([mutation('l9oops')]));
    expect(trap.message).toContain('log level 9');
  });

  test('a throw from enter, now or random traps with its message', () => {
    const failing = (): never => {
      throw new RangeError('enter(0) outside a batch of 0');
    };
    for (const [override, payload] of [
      [{ enter: failing }, 'a'],
      [{ now: failing }, 'n'],
      [{ random: failing }, 'n'],
    ] as const) {
      const instance = full.instantiate(fakeHost(override).imports);
      expect(trapOf(() => instance.reduce([mutation(payload)])).message).toContain(
        'enter(0) outside a batch of 0',
      );
      expect(() => instance.schemaVersion()).toThrow(ReducerTrap);
    }
  });

  test('a ReducerTrap thrown by execute traps instead of becoming err', () => {
    const { imports } = fakeHost({
      execute: () => {
        throw new ReducerTrap('out of SQL steps');
      },
    });
    expect(trapOf(() => full.instantiate(imports).reduce([mutation('a')])).message).toBe('out of SQL steps');
  });

  test('unbounded recursion is a ReducerTrap for the stack limit, not a host crash', async () => {
    const wat = minimalGuest(
      '(func $down (export "down") (param i32) (result i32) (call $down (i32.add (local.get 0) (i32.const 1))))',
    ).replace(
      '(func (export "schema-version") (result i32) (i32.const 1))',
      '(func (export "schema-version") (result i32) (call $down (i32.const 0)))',
    );
    const instance = (await loadReducer(await component(wat))).instantiate(fakeHost().imports);
    expect(trapOf(() => instance.schemaVersion()).limit).toBe('stack');
  });

  test('a trap raised by a host import stands even if the guest catches the exception', async () => {
    // wasm-tools cannot write legacy exception handling: assemble `block (call $enter) nop end` and
    // patch it into `try (call $enter) catch_all end`, which V8 runs and which catches JS exceptions.
    const wat = minimalGuest('(import "tandem:reducer/env@0.2.0" "enter" (func $enter (param i32)))').replace(
      '(func (export "schema-version") (result i32) (i32.const 1))',
      '(func (export "schema-version") (result i32) (block (call $enter (i32.const 0)) (nop)) (i32.const 1))',
    );
    const core = await coreModule(wat);
    const block = [0x02, 0x40, 0x41, 0x00, 0x10, 0x00, 0x01, 0x0b];
    const at = core.findIndex((_, i) => block.every((b, j) => core[i + j] === b));
    core[at] = 0x06;
    core[at + 6] = 0x19;
    expect(WebAssembly.validate(core.slice())).toBe(true);
    const { imports } = fakeHost({
      enter: () => {
        throw new Error('boom');
      },
    });
    const instance = (await loadReducer(rawComponent([1, core]))).instantiate(imports);
    expect(trapOf(() => instance.schemaVersion()).message).toBe('enter failed: boom');
  });

  test('a host import calling back into the running instance traps it', () => {
    let instance: ReducerInstance | undefined;
    const { imports } = fakeHost({
      execute: () => {
        instance?.reduce([mutation('a')]);
        return 0n;
      },
    });
    instance = full.instantiate(imports);
    expect(trapOf(() => instance?.reduce([mutation('a')])).message).toBe(
      'reduce was called while the reducer was running',
    );
  });

  test('an import called by the start function traps instantiation', async () => {
    const wat = minimalGuest(
      `(import "tandem:reducer/env@0.2.0" "enter" (func $enter (param i32)))
       (func $start (call $enter (i32.const 0)))
       (start $start)`,
    );
    const reducer = await loadReducer(await component(wat));
    expect(trapOf(() => reducer.instantiate(fakeHost().imports)).message).toContain('start function');
  });
});
