// The reducer host: loads a reducer component once (parse, validate against the world, compile) and
// instantiates its main core module with a hand-written canonical-ABI binding of the world, so a
// guest's SQL call costs what the plain core ABI costs (no jco at run time).
//
// Invariants:
// 1. A call into an instance either returns lifted results (after the guest's post-return ran) or
//    throws ReducerTrap. Once an instance has trapped, every later call throws ReducerTrap: the
//    caller instantiates the module again (cheap: the module is compiled once).
// 2. A trap raised inside a host import kills the instance even if the guest catches the exception
//    (wasm exception handling could): the export's caller still gets the ReducerTrap.
// 3. A throw from the host's `execute`, `executeBatch` or `query` reaches the guest as err(message),
//    a value, never a trap, unless it is a ReducerTrap (a host that must stop the guest throws one).
//    A throw from `log`, `enter`, `now` or `random` traps.
// 4. Host-side argument errors (a malformed envelope) are thrown before the guest runs and leave the
//    instance usable.

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
  storeErr,
  storeOkRowSet,
  storeOkU64,
  U64_RESULT,
} from './abi.js';
import { type ReducerCore, readReducerComponent } from './component.js';
import { ReducerLoadError, ReducerTrap } from './errors.js';
import { qualifiedImport, WORLD_FUNCTIONS, type WorldImport } from './world.js';

export type { MutationEnvelope, Outcome } from './abi.js';
export { ReducerLoadError, type ReducerLoadErrorKind, ReducerTrap } from './errors.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** What the host gives a reducer instance: the world's imports, with host types. */
export interface ReducerImports {
  /** A throw becomes err(message) for the guest (a ReducerTrap traps it instead). */
  execute(sql: string, params: readonly Value[]): bigint;
  executeBatch(sql: string, rows: readonly (readonly Value[])[]): bigint;
  query(sql: string, params: readonly Value[]): RowSet;
  /** A throw from these four traps the guest. */
  log(level: LogLevel, message: string): void;
  enter(index: number): void;
  now(): bigint;
  random(): bigint;
}

export interface ReducerModule {
  /** Hex SHA-256 of the component's bytes: the reducer's identity. */
  readonly sha256: string;
  /** The component's size in bytes. */
  readonly bytes: number;
  /** The world functions the reducer imports, e.g. `tandem:reducer/sql@0.1.0#execute`. */
  readonly imports: readonly string[];
  /** The world functions it exports: `schema-version`, `migrate`, `reduce`. */
  readonly exports: readonly string[];
  /** A fresh instance (synchronous and cheap; used again after a trap). Throws ReducerTrap if its start traps. */
  instantiate(imports: ReducerImports): ReducerInstance;
}

export interface ReducerInstance {
  schemaVersion(): number;
  migrate(fromVersion: number): Outcome;
  /** One outcome per mutation; throws ReducerTrap if the guest traps or returns another count. */
  reduce(batch: readonly MutationEnvelope[]): Outcome[];
}

export interface LoadOptions {
  /** Components larger than this are refused (`too-large`); MAX_REDUCER_BYTES by default. */
  readonly maxBytes?: number;
}

/** Reducers are ~10–20 KB; this leaves room for large ones and refuses what cannot be a reducer. */
export const MAX_REDUCER_BYTES = 8 * 1024 * 1024;

/** Parses, validates and compiles a reducer component; throws ReducerLoadError if it is not one. */
export async function loadReducer(
  source: Uint8Array | ArrayBuffer,
  options: LoadOptions = {},
): Promise<ReducerModule> {
  const maxBytes = options.maxBytes ?? MAX_REDUCER_BYTES;
  if (source.byteLength > maxBytes) {
    throw new ReducerLoadError(
      'too-large',
      `the reducer is ${source.byteLength} bytes; the limit is ${maxBytes}`,
    );
  }
  // A copy: the caller may reuse its buffer while we compile.
  const bytes = source instanceof ArrayBuffer ? new Uint8Array(source.slice(0)) : new Uint8Array(source);
  const core = readReducerComponent(bytes);
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(core.module.slice());
  } catch (error) {
    throw new ReducerLoadError(
      'malformed',
      `the reducer's core module does not compile: ${messageOf(error)}`,
      {
        cause: error,
      },
    );
  }
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  const sha256 = Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
  return new CompiledReducer(sha256, bytes.length, module, core);
}

class CompiledReducer implements ReducerModule {
  readonly sha256: string;
  readonly bytes: number;
  readonly imports: readonly string[];
  readonly exports: readonly string[] = WORLD_FUNCTIONS;
  private readonly module: WebAssembly.Module;
  private readonly core: ReducerCore;

  constructor(sha256: string, bytes: number, module: WebAssembly.Module, core: ReducerCore) {
    this.sha256 = sha256;
    this.bytes = bytes;
    this.module = module;
    this.core = core;
    this.imports = [...new Set(core.imports.map((i) => qualifiedImport(i.func)))];
  }

  instantiate(imports: ReducerImports): ReducerInstance {
    return new BoundInstance(this.module, this.core, imports);
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

class BoundInstance implements ReducerInstance {
  private heap: Heap | undefined;
  private readonly guest: GuestExports;
  /** Why the instance died, once it has. */
  private trapped: string | undefined;
  private running = false;

  constructor(module: WebAssembly.Module, core: ReducerCore, host: ReducerImports) {
    const bindings = this.bind(host);
    const importObject: WebAssembly.Imports = {};
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
    if (initialize !== undefined) this.call('initialize', () => initialize());
  }

  schemaVersion(): number {
    return this.call('schema-version', () => this.guest.schemaVersion() >>> 0);
  }

  migrate(fromVersion: number): Outcome {
    if (!Number.isInteger(fromVersion) || fromVersion < 0 || fromVersion > 0xffff_ffff) {
      throw new RangeError(`migrate: fromVersion must be a u32, got ${fromVersion}`);
    }
    return this.call('migrate', (heap) => {
      const ret = this.guest.migrate(fromVersion);
      heap.refresh();
      const outcome = liftUnitResult(heap, ret, "migrate's return area");
      this.guest.migratePost?.(ret);
      return outcome;
    });
  }

  reduce(batch: readonly MutationEnvelope[]): Outcome[] {
    batch.forEach(checkEnvelope);
    return this.call('reduce', (heap) => {
      const ptr = lowerBatch(heap, batch);
      const ret = this.guest.reduce(ptr, batch.length);
      heap.refresh();
      const outcomes = liftOutcomes(heap, ret);
      this.guest.reducePost?.(ret);
      if (outcomes.length !== batch.length) {
        throw new ReducerTrap(`reduce returned ${outcomes.length} outcomes for a batch of ${batch.length}`);
      }
      return outcomes;
    });
  }

  /** Runs one call into the guest (invariant 1). */
  private call<T>(what: string, body: (heap: Heap) => T): T {
    if (this.trapped !== undefined) {
      throw new ReducerTrap(`the instance trapped earlier (${this.trapped}); instantiate the reducer again`);
    }
    if (this.running) throw new ReducerTrap(`${what} was called while the reducer was running`);
    this.running = true;
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
        : new ReducerTrap(`${messageOf(error)} (in ${where})`, { cause: error });
    this.trapped ??= trap.message;
    return trap;
  }

  /** Inside an import: every failure is a trap, recorded before it unwinds through the guest (invariant 2). */
  private trap(error: unknown, where: string): ReducerTrap {
    const trap =
      error instanceof ReducerTrap
        ? error
        : new ReducerTrap(`${where} failed: ${messageOf(error)}`, { cause: error });
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
    return {
      execute: (sqlPtr: number, sqlLen: number, listPtr: number, listLen: number, ret: number) => {
        try {
          const heap = this.heapForImport();
          const sql = liftString(heap, sqlPtr, sqlLen, 'the SQL');
          const params = liftValues(heap, listPtr, listLen);
          let changes: bigint;
          try {
            changes = host.execute(sql, params);
          } catch (error) {
            if (error instanceof ReducerTrap) throw error;
            storeErr(heap, ret, U64_RESULT, messageOf(error));
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
          const sql = liftString(heap, sqlPtr, sqlLen, 'the SQL');
          const rows = liftValueRows(heap, listPtr, listLen);
          let changes: bigint;
          try {
            changes = host.executeBatch(sql, rows);
          } catch (error) {
            if (error instanceof ReducerTrap) throw error;
            storeErr(heap, ret, U64_RESULT, messageOf(error));
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
          const sql = liftString(heap, sqlPtr, sqlLen, 'the SQL');
          const params = liftValues(heap, listPtr, listLen);
          let rows: RowSet;
          try {
            rows = host.query(sql, params);
          } catch (error) {
            if (error instanceof ReducerTrap) throw error;
            storeErr(heap, ret, ROW_SET_RESULT, messageOf(error));
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
          const name = LEVELS[level];
          if (name === undefined) throw new ReducerTrap(`log level ${level} is not one of the 4 levels`);
          host.log(name, liftString(heap, ptr, len, 'a log message'));
        } catch (error) {
          throw this.trap(error, 'log');
        }
      },
      enter: (index: number) => {
        try {
          this.heapForImport();
          host.enter(index >>> 0);
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

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
