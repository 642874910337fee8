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
// 3. A pass runs one microtask after `changed` or `add`, or sooner when the document asks (`settle`, at
//    the end of the flush that changed the database), so a burst of changes costs one pass.
// 4. A listener or onError that throws does not stop the pass: its error is thrown again in a
//    microtask of its own, where the host reports it as uncaught, as it did before.
// 5. A statement SQLite refuses to prepare depends on the schema alone: it is tried again when the
//    schema changes (a missing table may have been created).
// 6. Rows are compared as SQLite returned them (cell by cell, column names in order, values as the
//    application reads them in the subscription's shape: query-rows.ts) with the last rows the listener
//    heard, which no one else holds: an application changing the rows it was given cannot make a change
//    go unheard. Rows in the application's shape are made only for a listener.
// 7. `#byRoot`, `#readsEverything` and `#unprepared` together hold every subscription exactly once per
//    reason it may be due: under each root of its read set, as reading everything, or as not prepared
//    under the current schema (new, or the schema changed). Due subscriptions run in the order they
//    were added.
import {
  type ArrayRows,
  type IntegerMode,
  plainValue,
  type Row,
  type RowShape,
  shapeRows,
} from '../query-rows.js';
import type { Authorization } from '../sqlite/connection.js';
import { type PlainValue, type RowSet, toValue, type Value } from '../value.js';
import type { PageReader } from './btree-pages.js';
import { EVERYTHING, type ReadSet, readSetOf, SCHEMA_ONLY, type SchemaObject } from './read-set.js';
import { TableChanges } from './table-changes.js';

type Params = readonly (PlainValue | boolean)[];

/** What the subscriptions need from the document's database. */
export interface WatchedDatabase {
  /** Runs a read-only query; rows as SQLite's values. */
  query(sql: string, params: readonly Value[]): RowSet;
  /** What preparing `sql` asks SQLite's authorizer (connection.ts `authorizations`). */
  authorizations(sql: string): readonly Authorization[];
  /** The visible file's pages (the page store). */
  readonly readPage: PageReader;
  /** Calls `told` with each page that may hold other bytes now (page-store.ts invariant 8). */
  watchPages(told: (pgno: number) => void): void;
  /** False once the document closed: nothing runs any more. */
  isOpen(): boolean;
}

interface Subscription {
  /** Its place in the order subscriptions were added (invariant 7). */
  readonly order: number;
  readonly sql: string;
  readonly params: readonly Value[];
  /** The rows' shape: the listener hears `Row[]`, or `ArrayRows` for rowMode `array`. */
  readonly shape: RowShape;
  readonly listener: (rows: Row[] | ArrayRows) => void;
  readonly onError: ((error: unknown) => void) | undefined;
  /** What its query reads; undefined until prepared under the current schema. */
  reads: ReadSet | undefined;
  /** The rows last heard; undefined before the first run and after an error. */
  last: RowSet | undefined;
}

const byOrder = (a: Subscription, b: Subscription): number => a.order - b.order;

export class Subscriptions {
  readonly #db: WatchedDatabase;
  readonly #changes: TableChanges;
  readonly #subscriptions = new Set<Subscription>();
  readonly #byRoot = new Map<number, Set<Subscription>>();
  readonly #readsEverything = new Set<Subscription>();
  readonly #unprepared = new Set<Subscription>();
  /** True when the watched roots may differ from the keys of `#byRoot`. */
  #rootsMoved = false;
  #scheduled = false;
  #runs = 0;
  #added = 0;

  constructor(db: WatchedDatabase) {
    this.#db = db;
    this.#changes = new TableChanges({ read: db.readPage, watch: (told) => db.watchPages(told) }, () =>
      loadSchema(db),
    );
  }

  /** True while there is a subscription: a change is looked at in the next microtask. */
  get active(): boolean {
    return this.#subscriptions.size > 0;
  }

  /** How many times a subscription's query has run, over all subscriptions. */
  get runs(): number {
    return this.#runs;
  }

  /** Subscribes; the listener hears the rows in the next pass, then each time they differ. */
  add(
    sql: string,
    params: Params,
    shape: RowShape,
    listener: (rows: Row[] | ArrayRows) => void,
    onError: ((error: unknown) => void) | undefined,
  ): () => void {
    const subscription: Subscription = {
      order: this.#added++,
      sql,
      params: params.map(toValue),
      shape,
      listener,
      onError,
      reads: undefined,
      last: undefined,
    };
    this.#subscriptions.add(subscription);
    this.#unprepared.add(subscription);
    this.#schedule();
    return () => {
      if (!this.#subscriptions.delete(subscription)) return;
      this.#unprepared.delete(subscription);
      this.#unindex(subscription);
    };
  }

  /** The database may have changed (a transaction, a rebase): look again in a microtask (invariant 3). */
  changed(): void {
    if (this.#subscriptions.size > 0) this.#schedule();
  }

  /** Runs now the pass `changed` or `add` scheduled, if any (invariant 3). */
  settle(): void {
    if (!this.#scheduled) return;
    this.#scheduled = false;
    this.#pass();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => this.settle());
  }

  #pass(): void {
    if (!this.#db.isOpen() || this.#subscriptions.size === 0) return;
    const change = this.#changes.look();
    if (change.schema) {
      // Every read set may mean something else now (invariant 1); the look forgot every table.
      this.#byRoot.clear();
      this.#readsEverything.clear();
      for (const subscription of this.#subscriptions) {
        subscription.reads = undefined;
        this.#unprepared.add(subscription);
      }
      this.#rootsMoved = true;
    }
    const due: Subscription[] = [...this.#readsEverything];
    for (const root of change.roots) {
      const readers = this.#byRoot.get(root);
      if (readers !== undefined) for (const subscription of readers) due.push(subscription);
    }
    for (const subscription of this.#unprepared) {
      subscription.reads = this.#readSet(subscription.sql);
      this.#index(subscription);
      due.push(subscription);
    }
    this.#unprepared.clear();
    if (this.#rootsMoved) {
      this.#rootsMoved = false;
      this.#changes.keep(new Set(this.#byRoot.keys()));
    }
    if (due.length > 1) due.sort(byOrder);
    let previous: Subscription | undefined;
    for (const subscription of due) {
      // One that reads several changed tables is due once.
      if (subscription !== previous) this.#run(subscription);
      previous = subscription;
    }
  }

  #index(subscription: Subscription): void {
    const reads = subscription.reads;
    if (reads === undefined) return;
    if (reads.everything) this.#readsEverything.add(subscription);
    for (const root of reads.roots) {
      let readers = this.#byRoot.get(root);
      if (readers === undefined) {
        readers = new Set();
        this.#byRoot.set(root, readers);
        this.#rootsMoved = true;
      }
      readers.add(subscription);
    }
  }

  #unindex(subscription: Subscription): void {
    const reads = subscription.reads;
    if (reads === undefined) return;
    this.#readsEverything.delete(subscription);
    for (const root of reads.roots) {
      const readers = this.#byRoot.get(root);
      if (readers === undefined) continue;
      readers.delete(subscription);
      if (readers.size > 0) continue;
      this.#byRoot.delete(root);
      this.#rootsMoved = true;
    }
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
    let rows: RowSet;
    try {
      rows = this.#db.query(subscription.sql, subscription.params);
    } catch (error) {
      // What the listener heard last is the error now: rows after it are news, even the same rows.
      subscription.last = undefined;
      if (subscription.onError !== undefined) report(() => subscription.onError?.(error));
      return;
    }
    const { shape } = subscription;
    if (subscription.last !== undefined && sameRows(rows, subscription.last, shape.integers)) return;
    subscription.last = rows;
    report(() => subscription.listener(shapeRows(rows, shape, true)));
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

function loadSchema(db: WatchedDatabase): Map<string, SchemaObject> {
  const objects = new Map<string, SchemaObject>();
  for (const [type, name, rootpage] of db.query('SELECT type, name, rootpage FROM sqlite_schema', []).rows) {
    if (type?.tag !== 'text' || name?.tag !== 'text') continue;
    objects.set(name.val.toLowerCase(), {
      type: type.val,
      rootpage: rootpage?.tag === 'integer' ? Number(rootpage.val) : 0,
    });
  }
  return objects;
}

/** The same rows: the same column names in order, and cell by cell the same value read as `integers`. */
export function sameRows(a: RowSet, b: RowSet, integers: IntegerMode = 'auto'): boolean {
  if (a.rows.length !== b.rows.length || a.columns.length !== b.columns.length) return false;
  for (let i = 0; i < a.columns.length; i++) if (a.columns[i] !== b.columns[i]) return false;
  for (let r = 0; r < a.rows.length; r++) {
    const x = a.rows[r]!;
    const y = b.rows[r]!;
    if (x.length !== y.length) return false;
    for (let c = 0; c < x.length; c++) if (!sameValue(x[c]!, y[c]!, integers)) return false;
  }
  return true;
}

/** Equal as the application reads them (under `'auto'`, an integer and a real of the same number look alike). */
function sameValue(a: Value, b: Value, integers: IntegerMode): boolean {
  if (a.tag === 'blob' || b.tag === 'blob') {
    if (a.tag !== 'blob' || b.tag !== 'blob' || a.val.length !== b.val.length) return false;
    for (let i = 0; i < a.val.length; i++) if (a.val[i] !== b.val[i]) return false;
    return true;
  }
  if (a.tag !== b.tag) return Object.is(plainValue(a, integers), plainValue(b, integers));
  return a.tag === 'null' || Object.is(a.val, (b as { readonly val: unknown }).val);
}
