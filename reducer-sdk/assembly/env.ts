// The reducer's only clock and randomness come from the envelope of the mutation being reduced.
// Invariant: each time a mutation is entered (and when a migration starts) `Math.random` loses its seed,
// and takes the next value of the envelope's stream as its seed at its first use in that mutation, so
// its values depend on the mutation alone, never on what ran before in the same instance. Lazily: a
// mutation that draws nothing makes no call for randomness (the stream is shared with `random()`, in
// the order they draw; before SDK entropy v2 the SDK drew Math.random's seed as it entered each one).

import { callLog, envEnter, envNow, envRandom } from './abi';

/** The current mutation's timestamp, in milliseconds since the Unix epoch. Use it instead of `Date.now`. */
export function now(): u64 {
  return envNow();
}

/** The next value of a pseudo-random stream seeded from the current mutation's envelope. */
export function random(): u64 {
  return envRandom();
}

/**
 * Makes `Math.random` seed itself again at its next use (`seedFromEnvelope`). Its body is written by
 * `tandem build` (compile.ts): it clears AssemblyScript's own flag, which no code can name.
 */
export function unseedMath(): void {}

/**
 * Makes mutation `index` of the batch current: `now()`, `random()`, `Math.random()` and SQLite's own clock
 * and randomness follow it. Only a reducer that exports `reduceBatch` calls this, before it works on
 * each mutation, once each and in order; with `reduce`, the SDK does it. Fuel and the SQL step budget
 * are per mutation and start afresh here.
 */
export function enter(index: i32): void {
  envEnter(<u32>index);
  unseedMath();
}

/** What `Math.random` seeds itself with at its first use in a mutation: the envelope's stream. */
export function seedFromEnvelope(): f64 {
  return reinterpret<f64>(envRandom());
}

/**
 * AssemblyScript's `abort` (`abort("x must be positive")`, a failed `assert`, an index out of range),
 * routed here by `tandem build` (`--use abort=`): the host ends the call with the message and where it
 * was raised as the trap's reason, e.g. `abort: x must be positive at assembly/index.ts:12:5`. A host
 * that goes on after the report still gets a trap.
 */
export function abortCall(message: string | null, fileName: string | null, line: u32, column: u32): void {
  // No global may be read here (asc may compile `abort` before globals exist). Out of memory while
  // formatting aborts again, and the recursion ends at the stack limit: still a trap.
  const text = message == null ? 'abort' : message;
  const file = fileName == null ? '?' : fileName;
  callLog(4 /* the world's log level `abort` */, `${text} at ${file}:${line}:${column}`);
  unreachable();
}

/** Messages for the host's log; they have no effect on the document. */
export namespace log {
  export function debug(message: string): void {
    callLog(0, message);
  }
  export function info(message: string): void {
    callLog(1, message);
  }
  export function warn(message: string): void {
    callLog(2, message);
  }
  export function error(message: string): void {
    callLog(3, message);
  }
}
