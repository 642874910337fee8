// The reducer host: loads a prepared reducer once (prepared.ts: a component's main core module, metered
// on the Node side; here it is read, validated against the world and compiled, never instrumented, so
// this module needs no binaryen) and instantiates it with a hand-written canonical-ABI binding of the world, so a
// guest's SQL call costs what the plain core ABI costs (no jco at run time).
//
// Invariants:
// 1. A call into an instance either returns lifted results (after the guest's post-return ran) or
//    throws ReducerTrap. Once an instance has trapped, every later call throws ReducerTrap: the
//    caller instantiates the module again (cheap: the module is compiled once).
// 2. A trap raised inside a host import kills the instance even if the guest catches the exception
//    (wasm exception handling could): the export's caller still gets the ReducerTrap.
// 3. A throw from the host's `execute`, `executeBatch` or `query` reaches the guest as err(sql-error),
//    a value, never a trap, unless it is a ReducerTrap (a host that must stop the guest throws one):
//    its code is the error's numeric `code` (SqlError's extended result code), else SQLITE_ERROR (1).
//    A throw from `log`, `enter`, `now` or `random` traps.
// 6. A `log` at level `abort` (the SDK's AssemblyScript `abort`) traps there, whatever the guest would
//    do next: the trap's message is `abort: ` and the guest's message (its text and `file:line:column`),
//    the same bytes on every host.
// 4. Host-side argument errors (a malformed envelope) are thrown before the guest runs and leave the
//    instance usable.
// 5. Every host runs the prepared, metered module (prepared.ts), never the original: fuel is set before each call
//    and at each `enter` (limits.ts invariant 2), and a trap caused by running out of fuel or memory
//    is a ReducerTrap whose `limit` says so, whatever the engine's message was.

import { sha256Hex } from '../sha256.js';
import type { RowSet, Value } from '../value.js';
import {
  type Guest,
  Heap,
  liftOutcomes,
  liftString,
  liftUnitResult,
  liftValueRows,
  liftValues,
  lowerBatch,
  type MutationEnvelope,
  type Outcome,
  ROW_SET_RESULT,
  SqlTexts,
  storeErr,
  storeOkRowSet,
  storeOkU64,
  U64_RESULT,
} from './abi.js';
import { type ReducerCore, validateMainModule } from './component.js';
import { readCoreModule } from './core-module.js';
import { limitTrap, ReducerLoadError, ReducerTrap } from './errors.js';
import { budgetFor, type ReducerLimits, resolveLimits } from './limits.js';
import {
  FUEL_IMPORT,
  MEMORY_EXCEEDED_EXPORT,
  METER_MODULE,
  METER_VERSION,
  STACK_EXCEEDED_EXPORT,
} from './meter-abi.js';
import { type PreparedHeader, readPrepared } from './prepared.js';
import { qualifiedImport, WORLD_FUNCTIONS, type WorldImport } from './world.js';

export type { MutationEnvelope, Outcome } from './abi.js';
export { ReducerLoadError, type ReducerLoadErrorKind, ReducerTrap } from './errors.js';
export { DEFAULT_LIMITS, LIMIT_REASONS, type LimitKind, type ReducerLimits } from './limits.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** What the host gives a reducer instance: the world's imports, with host types. */
export interface ReducerImports {
  /**
   * True when `execute`, `executeBatch` and `query` read their text values only before they return
   * (binding them, never keeping them): then an ASCII text's string is made only if it is read, from
   * guest memory (abi.ts GuestAsciiText), and must not be read after the call.
   */
  readonly readsTextDuringCall?: boolean;
  /** A throw becomes err(message) for the guest (a ReducerTrap traps it instead). */
  execute(sql: string, params: readonly Value[]): bigint;
  executeBatch(sql: string, rows: readonly (readonly Value[])[]): bigint;
  query(sql: string, params: readonly Value[]): RowSet;
  /** A throw from these four traps the guest. */
  log(level: LogLevel, message: string): void;
  /**
   * Called with 0 … batch length - 1 as the guest enters each mutation (each one, in order: a guest
   * that skips one traps), then with the batch length after the last one (optional).
   */
  enter(index: number): void;
  now(): bigint;
  random(): bigint;
}

export interface ReducerModule {
  /**
   * Hex SHA-256 of the prepared reducer's bytes, the very bytes compiled (prepared.ts invariant 1): the
   * reducer's identity, the same on every host that runs the same code.
   */
  readonly sha256: string;
  /** The prepared reducer's size in bytes. */
  readonly bytes: number;
  /**
   * The prepared reducer's bytes, as compiled (read-only): what a client keeps beside its schema mark
   * once it moved to this reducer (storage/schema-mark.ts invariant 4).
   */
  readonly source: Uint8Array;
  /** The component it was prepared from (`tandem build` output). */
  readonly component: { readonly sha256: string; readonly bytes: number };
  /** The world functions the reducer imports, e.g. `tandem:reducer/sql@0.2.0#execute`. */
  readonly imports: readonly string[];
  /** The world functions it exports: `schema-version`, `migrate`, `reduce`. */
  readonly exports: readonly string[];
  /** The budgets every instance runs under (DEFAULT_LIMITS unless the host gave others). */
  readonly limits: ReducerLimits;
  /** A fresh instance (synchronous and cheap; used again after a trap). Throws ReducerTrap if its start traps. */
  instantiate(imports: ReducerImports): ReducerInstance;
}

function refuse(name: string): never {
  throw new Error(`schema-version called ${name}`);
}

/**
 * The schema version a reducer declares, read without a database: `schema-version` runs in an instance
 * whose imports all refuse (a reducer that touches SQL or the clock to answer it is refused with that).
 */
export function declaredSchemaVersion(module: ReducerModule): number {
  return module
    .instantiate({
      execute: () => refuse('execute'),
      executeBatch: () => refuse('execute-batch'),
      query: () => refuse('query'),
      log: () => refuse('log'),
      enter: () => refuse('enter'),
      now: () => refuse('now'),
      random: () => refuse('random'),
    })
    .schemaVersion();
}

export interface ReduceOptions {
  /**
   * A verdict run gets the full budgets; any other run the tentative ones (limits.ts invariant 1).
   * Only a fresh instance should run a verdict.
   */
  readonly verdict?: boolean;
}

export interface ReducerInstance {
  /** True until the first call into the instance (its start function and `_initialize` excepted). */
  readonly fresh: boolean;
  schemaVersion(): number;
  migrate(fromVersion: number): Outcome;
  /** One outcome per mutation; throws ReducerTrap if the guest traps or returns another count. */
  reduce(batch: readonly MutationEnvelope[], options?: ReduceOptions): Outcome[];
}

export interface LoadOptions {
  /** The budgets; each one left out takes its value from DEFAULT_LIMITS. */
  readonly limits?: Partial<ReducerLimits>;
  /**
   * For measuring the meter's cost only (bench/): runs the original core module, without fuel or a
   * memory cap, so limit verdicts are no longer deterministic. Never for a document other hosts share.
   */
  readonly unmetered?: boolean;
}

/** Compiled prepared reducers by their hash; failures are not kept. */
const compiled = new Map<string, Promise<WebAssembly.Module>>();
const COMPILED_CACHE_SIZE = 16;

/**
 * Loads a prepared reducer (prepared.ts: a component metered once on the Node side, as the coordinator
 * serves it): reads its header, validates its module against the world and compiles it. No
 * instrumenter is involved, so this is the loader a browser uses. Throws ReducerLoadError: a component
 * is `not-prepared` (prepare.ts's `loadReducer` takes components), a module metered by another meter
 * version or under other memory or stack limits is `meter-mismatch`.
 */
export async function loadPreparedReducer(
  source: Uint8Array | ArrayBuffer,
  options: LoadOptions = {},
): Promise<ReducerModule> {
  const limits = resolveLimits(options.limits);
  // A copy: the caller may reuse its buffer while we compile.
  const bytes = source instanceof ArrayBuffer ? new Uint8Array(source.slice(0)) : new Uint8Array(source);
  const { header } = readPrepared(bytes);
  const unmetered = options.unmetered ?? false;
  checkHeader(header, limits, unmetered);
  const core = validateMainModule(readCoreModule(bytes, 'prepared module'), !unmetered);
  const sha256 = await sha256Hex([bytes]);
  let module = compiled.get(sha256);
  if (module === undefined) {
    module = compile(bytes);
    compiled.set(sha256, module);
    if (compiled.size > COMPILED_CACHE_SIZE) compiled.delete(compiled.keys().next().value!);
  }
  try {
    return new CompiledReducer(sha256, bytes, header.component, await module, core, limits);
  } catch (error) {
    compiled.delete(sha256);
    throw error;
  }
}

/** Refuses a prepared reducer made under other rules than this host's (prepared.ts invariant 3). */
function checkHeader(header: PreparedHeader, limits: ReducerLimits, unmetered: boolean): void {
  if (header.component.bytes > limits.maxModuleBytes) {
    throw new ReducerLoadError(
      'too-large',
      `the reducer was prepared from a component of ${header.component.bytes} bytes; the limit is ${limits.maxModuleBytes}`,
    );
  }
  const expected = unmetered ? 0 : METER_VERSION;
  const sameLimits =
    unmetered ||
    (header.maxMemoryPages === limits.maxMemoryPages && header.maxStackBytes === limits.maxStackBytes);
  if (header.meterVersion !== expected || !sameLimits) {
    const made = `meter version ${header.meterVersion}, maxMemoryPages ${header.maxMemoryPages}, maxStackBytes ${header.maxStackBytes}`;
    const here = unmetered
      ? 'this host asked for an unmetered one'
      : `this host meters with version ${METER_VERSION}, maxMemoryPages ${limits.maxMemoryPages}, maxStackBytes ${limits.maxStackBytes}`;
    throw new ReducerLoadError(
      'meter-mismatch',
      `the reducer was prepared under ${made}; ${here}: take it again from a coordinator running this version of Tandem`,
    );
  }
}

async function compile(bytes: Uint8Array): Promise<WebAssembly.Module> {
  try {
    return await WebAssembly.compile(bytes.slice());
  } catch (error) {
    throw new ReducerLoadError('malformed', `the prepared module does not compile: ${messageOf(error)}`, {
      cause: error,
    });
  }
}

class CompiledReducer implements ReducerModule {
  readonly sha256: string;
  readonly bytes: number;
  readonly source: Uint8Array;
  readonly component: ReducerModule['component'];
  readonly imports: readonly string[];
  readonly exports: readonly string[] = WORLD_FUNCTIONS;
  readonly limits: ReducerLimits;
  private readonly module: WebAssembly.Module;
  private readonly core: Omit<ReducerCore, 'module'>;

  constructor(
    sha256: string,
    source: Uint8Array,
    component: ReducerModule['component'],
    module: WebAssembly.Module,
    core: Omit<ReducerCore, 'module'>,
    limits: ReducerLimits,
  ) {
    this.sha256 = sha256;
    this.bytes = source.length;
    this.source = source;
    this.component = component;
    this.module = module;
    this.core = core;
    this.limits = limits;
    this.imports = [...new Set(core.imports.map((i) => qualifiedImport(i.func)))];
  }

  instantiate(imports: ReducerImports): ReducerInstance {
    return new BoundInstance(this.module, this.core, imports, this.limits);
  }
}

/** The guest's exports, typed by validation. */
interface GuestExports {
  readonly memory: WebAssembly.Memory;
  realloc(oldPtr: number, oldSize: number, align: number, newSize: number): number;
  schemaVersion(): number;
  migrate(fromVersion: number): number;
  reduce(ptr: number, len: number): number;
  readonly migratePost: ((ret: number) => void) | undefined;
  readonly reducePost: ((ret: number) => void) | undefined;
  readonly initialize: (() => void) | undefined;
}

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
/** The world's fifth log level: the guest gives up (invariant 6). */
const LOG_ABORT = 4;
/** What a SQL error that names no code of SQLite's reaches the guest as. */
const SQLITE_ERROR = 1;

class BoundInstance implements ReducerInstance {
  private heap: Heap | undefined;
  private readonly guest: GuestExports;
  /** Why the instance died, once it has. */
  private trapped: string | undefined;
  private running = false;
  private called = false;
  private readonly fuel: WebAssembly.Global;
  private readonly memoryExceeded: WebAssembly.Global | undefined;
  private readonly stackExceeded: WebAssembly.Global | undefined;
  private readonly limits: ReducerLimits;
  /** The fuel of one mutation in the running call, and the length of its batch (1 outside reduce). */
  private budget: number;
  /** `budget` as the fuel global takes it, made once per call rather than at every `enter`. */
  private budgetFuel = 0n;
  private batchLength = 1;
  /** The last index the guest entered in the running call: each next one is this + 1, so fuel is reset once per mutation. */
  private entered = -1;
  private readonly sqlTexts = new SqlTexts();

  constructor(
    module: WebAssembly.Module,
    core: Omit<ReducerCore, 'module'>,
    host: ReducerImports,
    limits: ReducerLimits,
  ) {
    this.limits = limits;
    this.budget = limits.fuelPerMutation;
    this.fuel = new WebAssembly.Global({ value: 'i64', mutable: true }, BigInt(this.budget));
    const bindings = this.bind(host);
    const importObject: WebAssembly.Imports = { [METER_MODULE]: { [FUEL_IMPORT]: this.fuel } };
    for (const { module: name, name: field, func } of core.imports) {
      importObject[name] ??= {};
      importObject[name][field] = bindings[func];
    }
    let instance: WebAssembly.Instance;
    try {
      instance = new WebAssembly.Instance(module, importObject);
    } catch (error) {
      throw this.kill(error, 'the start function');
    }
    const x = instance.exports;
    this.memoryExceeded = x[MEMORY_EXCEEDED_EXPORT] as WebAssembly.Global | undefined;
    this.stackExceeded = x[STACK_EXCEEDED_EXPORT] as WebAssembly.Global | undefined;
    const fn = <F>(name: string | undefined): F | undefined =>
      name === undefined ? undefined : (x[name] as F);
    const e = core.exports;
    this.guest = {
      memory: x[core.memoryExport] as WebAssembly.Memory,
      realloc: fn<GuestExports['realloc']>(e.realloc)!,
      schemaVersion: fn<GuestExports['schemaVersion']>(e['schema-version'])!,
      migrate: fn<GuestExports['migrate']>(e.migrate)!,
      reduce: fn<GuestExports['reduce']>(e.reduce)!,
      migratePost: fn(e['migrate-post']),
      reducePost: fn(e['reduce-post']),
      initialize: fn(e.initialize),
    };
    const heapGuest: Guest = { memory: this.guest.memory, realloc: this.guest.realloc };
    this.heap = new Heap(heapGuest);
    const initialize = this.guest.initialize;
    if (initialize !== undefined) this.call('initialize', this.budget, 1, () => initialize());
    this.called = false;
  }

  get fresh(): boolean {
    return !this.called;
  }

  schemaVersion(): number {
    return this.call(
      'schema-version',
      this.limits.fuelPerMutation,
      1,
      () => this.guest.schemaVersion() >>> 0,
    );
  }

  migrate(fromVersion: number): Outcome {
    if (!Number.isInteger(fromVersion) || fromVersion < 0 || fromVersion > 0xffff_ffff) {
      throw new RangeError(`migrate: fromVersion must be a u32, got ${fromVersion}`);
    }
    return this.call('migrate', this.limits.fuelPerMutation, 1, (heap) => {
      const ret = this.guest.migrate(fromVersion);
      heap.refresh();
      const outcome = liftUnitResult(heap, ret, "migrate's return area");
      this.guest.migratePost?.(ret);
      return outcome;
    });
  }

  reduce(batch: readonly MutationEnvelope[], options: ReduceOptions = {}): Outcome[] {
    batch.forEach(checkEnvelope);
    const budget = budgetFor(this.limits.fuelPerMutation, options.verdict ?? false);
    return this.call('reduce', budget, batch.length, (heap) => {
      const ptr = lowerBatch(heap, batch);
      const ret = this.guest.reduce(ptr, batch.length);
      if (this.entered < batch.length - 1) {
        throw new ReducerTrap(
          `reduce returned having entered ${this.entered + 1} of ${batch.length} mutations: each mutation is entered once, in order`,
        );
      }
      heap.refresh();
      const outcomes = liftOutcomes(heap, ret);
      this.guest.reducePost?.(ret);
      if (outcomes.length !== batch.length) {
        throw new ReducerTrap(`reduce returned ${outcomes.length} outcomes for a batch of ${batch.length}`);
      }
      return outcomes;
    });
  }

  /**
   * Runs one call into the guest (invariant 1) with `budget` fuel per mutation; the glue's work
   * before the first mutation and after the last gets `budget` each, whatever the batch's length
   * (limits.ts invariant 2).
   */
  private call<T>(what: string, budget: number, batchLength: number, body: (heap: Heap) => T): T {
    if (this.trapped !== undefined) {
      throw new ReducerTrap(`the instance trapped earlier (${this.trapped}); instantiate the reducer again`);
    }
    if (this.running) throw new ReducerTrap(`${what} was called while the reducer was running`);
    this.running = true;
    this.called = true;
    this.budget = budget;
    this.batchLength = batchLength;
    this.entered = -1;
    this.budgetFuel = BigInt(budget);
    this.fuel.value = this.budgetFuel;
    try {
      const result = body(this.heap!);
      if (this.trapped !== undefined) throw new ReducerTrap(this.trapped);
      return result;
    } catch (error) {
      throw this.kill(error, what);
    } finally {
      this.running = false;
    }
  }

  /**
   * Marks the instance dead and returns the ReducerTrap to throw. Whatever escapes a guest call is the
   * guest's doing (a wasm trap, a stack overflow, a WebAssembly exception it threw, data that broke
   * the ABI): host failures inside imports were already turned into traps by `trap`.
   */
  private kill(error: unknown, where: string): ReducerTrap {
    const trap =
      error instanceof ReducerTrap
        ? error
        : (this.exhausted() ?? new ReducerTrap(`${messageOf(error)} (in ${where})`, { cause: error }));
    this.trapped ??= trap.message;
    return trap;
  }

  /** The limit trap a guest trap stands for, read from the meter's globals (invariant 5). */
  private exhausted(): ReducerTrap | undefined {
    if (this.memoryExceeded?.value === 1) return limitTrap('memory');
    if (this.stackExceeded?.value === 1) return limitTrap('stack');
    if ((this.fuel.value as bigint) < 0n) return limitTrap('fuel');
    return undefined;
  }

  /** Inside an import: every failure is a trap, recorded before it unwinds through the guest (invariant 2). */
  private trap(error: unknown, where: string): ReducerTrap {
    const trap =
      error instanceof ReducerTrap
        ? error
        : (this.exhausted() ?? new ReducerTrap(`${where} failed: ${messageOf(error)}`, { cause: error }));
    this.trapped ??= trap.message;
    return trap;
  }

  private heapForImport(): Heap {
    const heap = this.heap;
    if (heap === undefined)
      throw new ReducerTrap('an import was called by the start function, before memory exists');
    if (this.trapped !== undefined) throw new ReducerTrap(this.trapped);
    heap.refresh();
    return heap;
  }

  private bind(host: ReducerImports): Record<WorldImport, WebAssembly.ImportValue> {
    const textDuringCall = host.readsTextDuringCall === true;
    return {
      execute: (sqlPtr: number, sqlLen: number, listPtr: number, listLen: number, ret: number) => {
        try {
          const heap = this.heapForImport();
          const sql = this.sqlTexts.lift(heap, sqlPtr, sqlLen);
          const params = liftValues(heap, listPtr, listLen, textDuringCall);
          let changes: bigint;
          try {
            changes = host.execute(sql, params);
          } catch (error) {
            if (error instanceof ReducerTrap) throw error;
            storeErr(heap, ret, U64_RESULT, codeOf(error), messageOf(error));
            return;
          }
          storeOkU64(heap, ret, changes);
        } catch (error) {
          throw this.trap(error, 'execute');
        }
      },
      'execute-batch': (sqlPtr: number, sqlLen: number, listPtr: number, listLen: number, ret: number) => {
        try {
          const heap = this.heapForImport();
          const sql = this.sqlTexts.lift(heap, sqlPtr, sqlLen);
          const rows = liftValueRows(heap, listPtr, listLen, textDuringCall);
          let changes: bigint;
          try {
            changes = host.executeBatch(sql, rows);
          } catch (error) {
            if (error instanceof ReducerTrap) throw error;
            storeErr(heap, ret, U64_RESULT, codeOf(error), messageOf(error));
            return;
          }
          storeOkU64(heap, ret, changes);
        } catch (error) {
          throw this.trap(error, 'execute-batch');
        }
      },
      query: (sqlPtr: number, sqlLen: number, listPtr: number, listLen: number, ret: number) => {
        try {
          const heap = this.heapForImport();
          const sql = this.sqlTexts.lift(heap, sqlPtr, sqlLen);
          const params = liftValues(heap, listPtr, listLen, textDuringCall);
          let rows: RowSet;
          try {
            rows = host.query(sql, params);
          } catch (error) {
            if (error instanceof ReducerTrap) throw error;
            storeErr(heap, ret, ROW_SET_RESULT, codeOf(error), messageOf(error));
            return;
          }
          storeOkRowSet(heap, ret, rows);
        } catch (error) {
          throw this.trap(error, 'query');
        }
      },
      log: (level: number, ptr: number, len: number) => {
        try {
          const heap = this.heapForImport();
          if (level === LOG_ABORT) {
            throw new ReducerTrap(`abort: ${liftString(heap, ptr, len, 'an abort message')}`);
          }
          const name = LEVELS[level];
          if (name === undefined) throw new ReducerTrap(`log level ${level} is not one of the 5 levels`);
          host.log(name, liftString(heap, ptr, len, 'a log message'));
        } catch (error) {
          throw this.trap(error, 'log');
        }
      },
      enter: (index: number) => {
        try {
          this.heapForImport();
          const i = index >>> 0;
          if (i !== this.entered + 1 || i > this.batchLength) {
            throw new ReducerTrap(
              `enter(${i}) after enter(${this.entered}) in a batch of ${this.batchLength}: each mutation is entered once, in order`,
            );
          }
          this.entered = i;
          this.fuel.value = this.budgetFuel;
          host.enter(i);
        } catch (error) {
          throw this.trap(error, 'enter');
        }
      },
      now: () => {
        try {
          this.heapForImport();
          return BigInt.asIntN(64, host.now());
        } catch (error) {
          throw this.trap(error, 'now');
        }
      },
      random: () => {
        try {
          this.heapForImport();
          return BigInt.asIntN(64, host.random());
        } catch (error) {
          throw this.trap(error, 'random');
        }
      },
    };
  }
}

function checkEnvelope(m: MutationEnvelope, index: number): void {
  if (typeof m.timelineId !== 'string') throw new TypeError(`mutation ${index}: timelineId must be a string`);
  if (!(m.payload instanceof Uint8Array))
    throw new TypeError(`mutation ${index}: payload must be a Uint8Array`);
  for (const field of ['lsn', 'timestamp'] as const) {
    const v = m[field];
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new RangeError(`mutation ${index}: ${field} must be a non-negative safe integer, got ${v}`);
    }
  }
}

/** The extended result code a SQL error carries (SqlError.code), or SQLITE_ERROR (invariant 3). */
function codeOf(error: unknown): number {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'number' && Number.isInteger(code) ? code : SQLITE_ERROR;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
