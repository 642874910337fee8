// A connection's prepared statements, kept per principal (connection.ts invariant 4) and by SQL text.
//
// Invariants:
// 1. Each principal keeps at most STATEMENT_CACHE_SIZE statements; adding one to a full cache finalizes
//    the least recently used first (through `finalize`, which also forgets what the connection kept
//    about it).
// 2. A hit is one lookup and a counter: no key is built per call (a guest's repeated SQL arrives as the
//    same string, host.ts, whose hash the engine keeps); the oldest is looked for only when a statement
//    is added to a full cache.
// 3. A statement is handed out only to the principal it was prepared for: a statement the host prepared
//    is never handed to the guest unchecked, nor the reverse.
import type { WasmPointer } from './wasm-instance.js';

/** Who a statement runs for: the host's own statements, the reducer's, or the application's reads. */
export type Principal = 'host' | 'guest' | 'reader';

export const STATEMENT_CACHE_SIZE = 64;

interface CachedStatement {
  readonly stmt: WasmPointer;
  /** `#uses` when it was last used. */
  used: number;
}

export class StatementCache {
  readonly #caches: Readonly<Record<Principal, Map<string, CachedStatement>>> = {
    host: new Map(),
    guest: new Map(),
    reader: new Map(),
  };
  #uses = 0;
  readonly #finalize: (stmt: WasmPointer) => void;

  constructor(finalize: (stmt: WasmPointer) => void) {
    this.#finalize = finalize;
  }

  /** The statement prepared for `principal` from `sql`, marked as just used; undefined on a miss. */
  get(principal: Principal, sql: string): WasmPointer | undefined {
    const cached = this.#caches[principal].get(sql);
    if (cached === undefined) return undefined;
    cached.used = ++this.#uses;
    return cached.stmt;
  }

  /** Keeps `stmt` (prepared for `principal` from `sql`), finalizing the oldest of a full cache (invariant 1). */
  add(principal: Principal, sql: string, stmt: WasmPointer): void {
    const cache = this.#caches[principal];
    if (cache.size >= STATEMENT_CACHE_SIZE) {
      let oldestSql = '';
      let oldest: CachedStatement | undefined;
      for (const [key, entry] of cache) {
        if (oldest === undefined || entry.used < oldest.used) {
          oldestSql = key;
          oldest = entry;
        }
      }
      cache.delete(oldestSql);
      this.#finalize(oldest!.stmt);
    }
    cache.set(sql, { stmt, used: ++this.#uses });
  }

  /** Finalizes every statement of `principal`, or of all of them. */
  clear(principal?: Principal): void {
    const caches = principal === undefined ? Object.values(this.#caches) : [this.#caches[principal]];
    for (const cache of caches) {
      for (const { stmt } of cache.values()) this.#finalize(stmt);
      cache.clear();
    }
  }
}
