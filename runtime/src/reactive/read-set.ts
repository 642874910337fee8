// What a query reads, as SQLite itself reports it while preparing the statement (the authorizer), not
// as the VFS sees it: pages SQLite serves from its own cache never reach the VFS.
//
// Invariants:
// 1. Sound: when the rows a statement returns could depend on a b-tree of the main database, that
//    b-tree's root is in `roots`, or `everything` is true. The schema is a dependency of every
//    statement and is watched apart (table-changes.ts), so reading `sqlite_schema` adds nothing here.
// 2. `everything` is the answer for whatever cannot be attributed to a table of the main database: a
//    virtual table (its rows live in shadow tables or outside the file), a table-valued function other
//    than json_each/json_tree, another database (temp, attached), a PRAGMA, or any action other than
//    reading and calling functions.
// 3. A view adds nothing itself: SQLite expands it while preparing and reports the reads of the tables
//    beneath it. An index adds nothing either: its entries follow from its table's rows, so the table
//    changes whenever the index does.
// 4. The query planner's statistics (sqlite_stat1, sqlite_stat4) are read by every statement when they
//    exist: they can change the plan, and so the order of rows a query does not order.
import type { Authorization } from '../sqlite/connection.js';

/** What a statement depends on besides the schema: the roots of the b-trees it reads, or everything. */
export interface ReadSet {
  readonly everything: boolean;
  readonly roots: ReadonlySet<number>;
}

/** One entry of sqlite_schema. */
export interface SchemaObject {
  readonly type: string;
  readonly rootpage: number;
}

/** The main database's schema objects by lower-cased name. */
export type SchemaObjects = ReadonlyMap<string, SchemaObject>;

/** Depends on the schema alone (a statement that reads no table, or one that fails to prepare). */
export const SCHEMA_ONLY: ReadSet = { everything: false, roots: new Set() };
export const EVERYTHING: ReadSet = { everything: true, roots: new Set() };

/** sqlite3.h action codes the classification needs. */
const SQLITE_READ = 20;
const SQLITE_SELECT = 21;
const SQLITE_FUNCTION = 31;
const SQLITE_RECURSIVE = 33;

const SCHEMA_TABLES = new Set(['sqlite_master', 'sqlite_schema']);
/** Eponymous virtual tables that read only their arguments. */
const PURE_TABLE_FUNCTIONS = new Set(['json_each', 'json_tree']);
const PLANNER_STATISTICS = ['sqlite_stat1', 'sqlite_stat4'];

/** The read set of a statement from what preparing it asked the authorizer (invariants 1–4). */
export function readSetOf(asked: readonly Authorization[], schema: SchemaObjects): ReadSet {
  const roots = new Set<number>();
  for (const { action, arg1, database } of asked) {
    if (action === SQLITE_SELECT || action === SQLITE_FUNCTION || action === SQLITE_RECURSIVE) continue;
    if (action !== SQLITE_READ || arg1 === null) return EVERYTHING;
    // SQLite names no database for a table read without columns (count(*)): it is the main one unless
    // the name is not one of its tables, which sends the read to `everything` below.
    if (database !== null && database !== 'main') return EVERYTHING;
    const name = arg1.toLowerCase();
    if (SCHEMA_TABLES.has(name)) continue;
    const object = schema.get(name);
    if (object === undefined) {
      if (PURE_TABLE_FUNCTIONS.has(name)) continue;
      return EVERYTHING;
    }
    if (object.type === 'view') continue;
    if (object.type !== 'table' || object.rootpage <= 0) return EVERYTHING;
    roots.add(object.rootpage);
  }
  for (const name of PLANNER_STATISTICS) {
    const object = schema.get(name);
    if (object !== undefined && object.rootpage > 0) roots.add(object.rootpage);
  }
  return { everything: false, roots };
}
