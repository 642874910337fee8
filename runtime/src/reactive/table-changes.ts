// Which watched tables, and whether the schema, changed between one look at the database file and the
// next: one mechanism for local transactions and rebases alike, since it compares pages, whoever wrote
// them (a mutation, a trigger, a cascade, a frame from the coordinator, a dropped overlay).
//
// Invariants:
// 1. `look` reports the schema changed whenever sqlite_schema's b-tree or the schema cookie differ from
//    the last look (or the pages could not be read as a b-tree); it then forgets every watched table,
//    since root pages and read sets may mean something else now.
// 2. Otherwise `look` reports every watched table whose b-tree differs from the last look, or from when
//    it started being watched, whichever is later (btree-pages.ts invariant 2).
// 3. `keep` starts watching at the file as it is now: callers run the queries that depend on a table in
//    the same synchronous turn, so that the pages watched are the pages those queries read.
import { BtreeFormatError, BtreePages, type PageReader } from './btree-pages.js';
import type { SchemaObjects } from './read-set.js';

/** Offset of the schema cookie in the database header. */
const SCHEMA_COOKIE = 40;

export interface Change {
  readonly schema: boolean;
  /** Roots of the watched tables that changed (empty when `schema` is true: everything is stale). */
  readonly roots: ReadonlySet<number>;
}

const NONE: ReadonlySet<number> = new Set();

export class TableChanges {
  readonly #read: PageReader;
  readonly #loadSchema: () => SchemaObjects;
  #schemaTree: BtreePages | undefined;
  #cookie = 0;
  #objects: SchemaObjects | undefined;
  readonly #tables = new Map<number, BtreePages>();

  /** `loadSchema` reads sqlite_schema (through SQLite); it is called once per schema. */
  constructor(read: PageReader, loadSchema: () => SchemaObjects) {
    this.#read = read;
    this.#loadSchema = loadSchema;
  }

  /** The schema objects as of the last look (read when first needed). */
  get schema(): SchemaObjects {
    this.#objects ??= this.#loadSchema();
    return this.#objects;
  }

  /** What changed since the last look (invariants 1 and 2). The first look reports the schema changed. */
  look(): Change {
    try {
      const cookie = this.#cookieNow();
      const cookieChanged = cookie !== this.#cookie;
      this.#cookie = cookie;
      let treeChanged = true;
      if (this.#schemaTree === undefined) this.#schemaTree = new BtreePages(1, this.#read);
      else treeChanged = this.#schemaTree.update();
      if (treeChanged || cookieChanged) return this.#schemaChanged();
      const roots = new Set<number>();
      for (const [root, tree] of this.#tables) if (tree.update()) roots.add(root);
      return { schema: false, roots };
    } catch (error) {
      if (!(error instanceof BtreeFormatError)) throw error;
      this.#schemaTree = undefined;
      return this.#schemaChanged();
    }
  }

  /** Watches exactly the tables with these roots from now on; new ones from the file as it is now (invariant 3). */
  keep(roots: ReadonlySet<number>): void {
    for (const root of this.#tables.keys()) if (!roots.has(root)) this.#tables.delete(root);
    for (const root of roots) {
      if (this.#tables.has(root)) continue;
      try {
        this.#tables.set(root, new BtreePages(root, this.#read));
      } catch (error) {
        if (!(error instanceof BtreeFormatError)) throw error;
        // Unreadable now: the next look reports the schema changed, which re-runs every query.
        this.#schemaTree = undefined;
      }
    }
  }

  #cookieNow(): number {
    const page1 = this.#read(1);
    return page1 === undefined ? 0 : new DataView(page1.buffer, page1.byteOffset).getUint32(SCHEMA_COOKIE);
  }

  #schemaChanged(): Change {
    this.#tables.clear();
    this.#objects = undefined;
    return { schema: true, roots: NONE };
  }
}
