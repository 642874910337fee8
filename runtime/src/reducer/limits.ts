// The deterministic limits a reducer runs under (DESIGN.md §4): every host (client or coordinator)
// applies the same budgets, so a mutation that exhausts one is rejected everywhere, with the same reason.
//
// Invariants:
// 1. A limit verdict (a rejection for fuel, SQL steps or memory) is only ever reached by running the
//    mutation alone, in a fresh reducer instance, with the full budgets (`apply.ts`). Runs of several
//    mutations, or in a used instance, get the tentative budgets: a mutation that comes near a limit
//    there is retried alone, so how a host batched its mutations cannot change a verdict.
// 2. The budgets are per mutation and reset when the guest enters it (`enter(i)`). The guest must enter
//    every mutation of the batch, once each, in order (enter(i) follows enter(i - 1)), or it traps; the
//    glue's work before the first mutation and after the last (`enter(batch length)`) gets one
//    mutation's budgets each, whatever the batch's length, so batching never buys a guest more work.
//    What remains assumed: the guest does mutation i's work between enter(i) and enter(i + 1). A guest
//    may still move work between its mutations (do some of i + 1's inside i); the tentative budgets'
//    slack and the verdict run (alone, invariant 1) keep verdicts independent of batching even then.

/** The budgets a reducer runs under. Every host must use the same values for a document. */
export interface ReducerLimits {
  /** Fuel per mutation: one unit per function entry and per loop iteration of the guest. */
  readonly fuelPerMutation: number;
  /** SQLite virtual-machine steps per mutation, over all the statements it runs. */
  readonly sqlStepsPerMutation: number;
  /** The guest's linear memory may not grow past this many 64 KiB pages. */
  readonly maxMemoryPages: number;
  /**
   * The guest's call stack, in estimated bytes (meter.ts `frameBytes`: locals and the operand stack's
   * height, at twice what V8 spills per slot). The default, 256 KiB, stands for at most ~128 KiB of
   * real stack, far below the stacks a reducer runs on (Node's main thread: 984 KiB; Node workers:
   * 4 MiB; Chromium's workers), so deep recursion stops at the same depth everywhere
   * (e2e/src/limits.test.ts runs it in each, and in Node down to `--stack-size=500`).
   */
  readonly maxStackBytes: number;
  /** Components larger than this are refused at load. */
  readonly maxModuleBytes: number;
}

/**
 * The defaults of every host. A todo mutation costs under 1,000 fuel and 40 SQL steps; the budgets
 * leave room for reducers doing 10^4–10^5 times that per mutation, and stop a runaway one in 25–200 ms
 * here (bench/src/metering.ts).
 */
export const DEFAULT_LIMITS: ReducerLimits = {
  fuelPerMutation: 20_000_000,
  sqlStepsPerMutation: 10_000_000,
  maxMemoryPages: 512,
  maxStackBytes: 256 * 1024,
  maxModuleBytes: 8 * 1024 * 1024,
};

/**
 * SQLite's run-time limits (sqlite3_limit), set on every connection of every host, host statements
 * included (they stay far below them). They bound what one VM step can cost: without LENGTH, a
 * handful of steps builds a value of hundreds of megabytes (`randomblob(4e8)`), taking seconds and a
 * heap the size some engines cannot grow to. A guest statement that hits LENGTH or SQL_LENGTH
 * (SQLITE_TOOBIG), or runs SQLite out of memory (SQLITE_NOMEM), traps with the `sql-size` limit; the
 * others fail while the statement is prepared, deterministically, and reach the guest as errors.
 */
export const SQL_LIMITS = {
  /** Bytes in a string or blob, and in a row. */
  LENGTH: 8 * 1024 * 1024,
  /** Bytes of SQL text in one statement. */
  SQL_LENGTH: 1024 * 1024,
  COLUMN: 2_000,
  EXPR_DEPTH: 100,
  COMPOUND_SELECT: 64,
  FUNCTION_ARG: 100,
  LIKE_PATTERN_LENGTH: 1_000,
  VARIABLE_NUMBER: 4_096,
  TRIGGER_DEPTH: 16,
  WORKER_THREADS: 0,
} as const;

/** A limit that rejects the mutation that exhausted it. */
export type LimitKind = 'fuel' | 'sql-steps' | 'sql-size' | 'memory' | 'stack';

/** The rejection reason of each limit: exactly these strings, on every host. */
export const LIMIT_REASONS: Readonly<Record<LimitKind, string>> = {
  fuel: 'fuel exhausted',
  'sql-steps': 'sql budget exhausted',
  'sql-size': 'sql size limit exceeded',
  memory: 'memory limit exceeded',
  stack: 'stack limit exceeded',
};

/**
 * Outside a verdict run, a mutation gets this fraction of its budgets (invariant 1). The slack absorbs
 * what a mutation's cost may owe to its batch (the allocator's state after the mutations before it).
 */
const TENTATIVE_NUMERATOR = 7;
const TENTATIVE_DENOMINATOR = 8;

/** The budget a run gets: the full one when it decides a verdict, the tentative one otherwise. */
export function budgetFor(full: number, verdict: boolean): number {
  return verdict ? full : Math.floor((full * TENTATIVE_NUMERATOR) / TENTATIVE_DENOMINATOR);
}

/** The limits with defaults filled in; throws RangeError for a value that is not a positive integer. */
export function resolveLimits(limits: Partial<ReducerLimits> = {}): ReducerLimits {
  const resolved = { ...DEFAULT_LIMITS, ...definedOnly(limits) };
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(`limits.${name} must be a positive safe integer, got ${String(value)}`);
    }
  }
  if (resolved.maxMemoryPages > 65_536) {
    throw new RangeError(`limits.maxMemoryPages is at most 65536 (4 GiB), got ${resolved.maxMemoryPages}`);
  }
  return resolved;
}

function definedOnly(limits: Partial<ReducerLimits>): Partial<ReducerLimits> {
  return Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined));
}
