// The two ways a reducer fails: it cannot be loaded (a closed set of kinds, decided once per module),
// or one call into an instance trapped (the instance is then dead; the caller instantiates again).

import { LIMIT_REASONS, type LimitKind } from './limits.js';

export type ReducerLoadErrorKind =
  /** The bytes are not WebAssembly at all. */
  | 'not-wasm'
  /** A plain core module: reducers are components (`tandem build` makes one). */
  | 'core-module-not-component'
  /** The binary is truncated, inconsistent, or uses a form this host does not read. */
  | 'malformed'
  /** A function or the memory the world requires is not exported. */
  | 'missing-export'
  /** The module imports something outside the world (the message names it and says why). */
  | 'forbidden-import'
  /** An import or export has a different core type than the world's canonical ABI gives it. */
  | 'bad-signature'
  /** The component is larger than the host accepts (`limits.maxModuleBytes`). */
  | 'too-large'
  /** The module's memory starts larger than `limits.maxMemoryPages`. */
  | 'memory-too-large'
  /** The module uses an instruction or a structure the host does not run (atomics, several memories, …). */
  | 'forbidden-instruction'
  /** Expressions nest deeper than the host instruments (meter.ts MAX_NESTING). */
  | 'too-deep'
  /**
   * Not a prepared reducer (prepared.ts): a host without the instrumenter (a browser) was given a
   * component, or a core module that is neither.
   */
  | 'not-prepared'
  /**
   * A prepared reducer metered by another meter version or under other memory or stack limits than
   * this host's: running it would run other code than the hosts it syncs with.
   */
  | 'meter-mismatch';

export class ReducerLoadError extends Error {
  override readonly name = 'ReducerLoadError';
  readonly kind: ReducerLoadErrorKind;

  constructor(kind: ReducerLoadErrorKind, message: string, options?: ErrorOptions) {
    super(message, options);
    this.kind = kind;
  }
}

/** A guest call trapped (or broke the canonical ABI): its instance must not be called again. */
export class ReducerTrap extends Error {
  override readonly name = 'ReducerTrap';
  /** The deterministic limit the guest ran out of, when that is why it trapped. */
  readonly limit: LimitKind | undefined;
  /**
   * True when SQLite aborted one of the guest's statements (`abortTrap`): the message is then the
   * mutation's rejection reason, decided like a limit's by a verdict run (apply.ts).
   */
  readonly aborted: boolean;

  constructor(
    message: string,
    options?: ErrorOptions & { readonly limit?: LimitKind; readonly aborted?: boolean },
  ) {
    super(message, options);
    this.limit = options?.limit;
    this.aborted = options?.aborted ?? false;
  }
}

/** The trap of a guest that ran out of `limit`; its message is the limit's rejection reason. */
export function limitTrap(limit: LimitKind): ReducerTrap {
  return new ReducerTrap(LIMIT_REASONS[limit], { limit });
}

/** The prefix of every rejection reason for a statement SQLite aborted (`abortTrap`). */
export const ABORT_REASON_PREFIX = 'transaction aborted by sqlite: ';

/**
 * The trap of a guest whose statement SQLite aborted: it ended the transaction on its own (a
 * RAISE(ROLLBACK), an ON CONFLICT ROLLBACK constraint, an interrupted or failed write), or failed
 * for a reason of the host's, not the guest's (disk full, I/O error). `message` is SQLite's.
 */
export function abortTrap(message: string): ReducerTrap {
  return new ReducerTrap(`${ABORT_REASON_PREFIX}${message}`, { aborted: true });
}
