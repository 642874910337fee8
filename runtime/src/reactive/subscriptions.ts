// Live queries over one document: each subscription's query re-runs only when a table it reads, or the
// schema, changed since it last ran, and its listener hears rows only when they differ from the last
// rows it heard.
//
// Invariants:
// 1. Never stale: after a pass, every subscription's last rows are what its query returns from the
//    database as it is then. A pass looks at the file (table-changes.ts) and re-runs every subscription
//    that is new, whose read set met a changed table, that reads `everything`, or all of them when the
//    schema changed (read sets are then prepared again: a view or a table may mean something else).
// 2. Queries run in the same synchronous turn as the look that decided them, so the pages compared at
//    the next look are the pages those queries read (table-changes.ts invariant 3).
// 3. A pass runs one microtask after `changed` or `add`, so a burst of changes costs one pass.
// 4. A listener or onError that throws does not stop the pass: its error is thrown again in a
//    microtask of its own, where the host reports it as uncaught, as it did before.
// 5. A statement SQLite refuses to prepare depends on the schema alone: it is tried again when the
//    schema changes (a missing table may have been created).
import type { Authorization } from '../sqlite/connection.js';
import type { PlainValue } from '../value.js';
import type { PageReader } from './btree-pages.js';
import { EVERYTHING, type ReadSet, readSetOf, SCHEMA_ONLY, type SchemaObject } from './read-set.js';
import { TableChanges } from './table-changes.js';

type Row = Record<string, PlainValue>;
type Params = readonly (PlainValue | boolean)[];

/** What the subscriptions need from the document's database. */
export interface WatchedDatabase {
  query(sql: string, params: Params): Row[];
  /** What preparing `sql` asks SQLite's authorizer (connection.ts `authorizations`). */
  authorizations(sql: string): readonly Authorization[];
  /** The visible file's pages (the page store). */
  readonly readPage: PageReader;
  /** False once the document closed: nothing runs any more. */
  isOpen(): boolean;
}

interface Subscription {
  readonly sql: string;
  readonly params: Params;
  readonly listener: (rows: Row[]) => void;
  readonly onError: ((error: unknown) => void) | undefined;
  /** What its query reads; undefined until prepared under the current schema. */
  reads: ReadSet | undefined;
  /** The rows last heard, as a comparable key; undefined before the first run and after an error. */
  last: string | undefined;
}

export class Subscriptions {
  readonly #db: WatchedDatabase;
  readonly #changes: TableChanges;
  readonly #subscriptions = new Set<Subscription>();
  #scheduled = false;
  #runs = 0;

  constructor(db: WatchedDatabase) {
    this.#db = db;
    this.#changes = new TableChanges(db.readPage, () => loadSchema(db));
  }

  /** How many times a subscription's query has run, over all subscriptions. */
  get runs(): number {
    return this.#runs;
  }

  /** Subscribes; the listener hears the rows in the next pass, then each time they differ. */
  add(
    sql: string,
    params: Params,
    listener: (rows: Row[]) => void,
    onError: ((error: unknown) => void) | undefined,
  ): () => void {
    const subscription: Subscription = { sql, params, listener, onError, reads: undefined, last: undefined };
    this.#subscriptions.add(subscription);
    this.#schedule();
    return () => {
      this.#subscriptions.delete(subscription);
    };
  }

  /** The database may have changed (a transaction, a rebase): look again in a microtask (invariant 3). */
  changed(): void {
    if (this.#subscriptions.size > 0) this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.#pass();
    });
  }

  #pass(): void {
    if (!this.#db.isOpen() || this.#subscriptions.size === 0) return;
    const change = this.#changes.look();
    const due: Subscription[] = [];
    const roots = new Set<number>();
    for (const subscription of this.#subscriptions) {
      let reads = change.schema ? undefined : subscription.reads;
      if (reads === undefined) {
        reads = this.#readSet(subscription.sql);
        subscription.reads = reads;
        due.push(subscription);
      } else if (reads.everything || meets(reads.roots, change.roots)) {
        due.push(subscription);
      }
      for (const root of reads.roots) roots.add(root);
    }
    this.#changes.keep(roots);
    for (const subscription of due) this.#run(subscription);
  }

  #readSet(sql: string): ReadSet {
    let asked: readonly Authorization[];
    try {
      asked = this.#db.authorizations(sql);
    } catch {
      return SCHEMA_ONLY;
    }
    try {
      return readSetOf(asked, this.#changes.schema);
    } catch {
      // The schema could not be read (a failed replica): running every time is always sound.
      return EVERYTHING;
    }
  }

  #run(subscription: Subscription): void {
    // An earlier listener of this pass may have unsubscribed it, or closed the document.
    if (!this.#subscriptions.has(subscription) || !this.#db.isOpen()) return;
    this.#runs++;
    let rows: Row[];
    try {
      rows = this.#db.query(subscription.sql, subscription.params);
    } catch (error) {
      // What the listener heard last is the error now: rows after it are news, even the same rows.
      subscription.last = undefined;
      if (subscription.onError !== undefined) report(() => subscription.onError?.(error));
      return;
    }
    const key = rowsKey(rows);
    if (key === subscription.last) return;
    subscription.last = key;
    report(() => subscription.listener(rows));
  }
}

/** Calls the application's callback; what it throws is thrown again on its own (invariant 4). */
function report(callback: () => void): void {
  try {
    callback();
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}

function meets(a: ReadonlySet<number>, b: ReadonlySet<number>): boolean {
  if (b.size === 0) return false;
  for (const x of a) if (b.has(x)) return true;
  return false;
}

function loadSchema(db: WatchedDatabase): Map<string, SchemaObject> {
  const objects = new Map<string, SchemaObject>();
  for (const row of db.query('SELECT type, name, rootpage FROM sqlite_schema', [])) {
    const { type, name, rootpage } = row;
    if (typeof type !== 'string' || typeof name !== 'string') continue;
    objects.set(name.toLowerCase(), { type, rootpage: typeof rootpage === 'number' ? rootpage : 0 });
  }
  return objects;
}

/**
 * Rows as a string that is equal exactly when the rows are. Cells are null, numbers, strings, bigints or
 * blobs: the last two become objects, which no other cell can be, so nothing collides.
 */
function rowsKey(rows: readonly Row[]): string {
  return JSON.stringify(rows, (_key, value: unknown) => {
    if (value instanceof Uint8Array) return { blob: Array.from(value) };
    if (typeof value === 'bigint') return { bigint: value.toString() };
    return value;
  });
}
