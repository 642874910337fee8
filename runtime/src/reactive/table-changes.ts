// Which watched tables, and whether the schema, changed between one look at the database file and the
// next: one mechanism for local transactions and rebases alike, since it compares pages, whoever wrote
// them (a mutation, a trigger, a cascade, a frame from the coordinator, a dropped overlay).
//
// A look costs what changed, not what is watched: the page store tells which pages may have changed
// (page-store.ts invariant 8), each is found in an index of the watched b-trees' pages (which tree holds
// it) and looked at alone (btree-pages.ts invariant 5); only a tree whose links changed is walked again.
// When the store told more pages than are indexed, or told nothing usable yet (the first look), every
// watched tree is walked, comparing its pages with the last walk.
//
// Invariants:
// 1. `look` reports the schema changed whenever sqlite_schema's b-tree or the schema cookie differ from
//    the last look (or the pages could not be read as a b-tree); it then forgets every watched table,
//    since root pages and read sets may mean something else now.
// 2. Otherwise `look` reports every watched table whose b-tree differs from the last look, or from when
//    it started being watched, whichever is later (btree-pages.ts invariant 2), and none whose pages the
//    store did not tell (or that hold the same bytes again).
// 3. `keep` starts watching at the file as it is now: callers run the queries that depend on a table in
//    the same synchronous turn, so that the pages watched are the pages those queries read.
// 4. After each look and keep, `#owner` maps exactly the pages of the watched trees (sqlite_schema's
//    included) to their roots: a told page it does not map belongs to no watched tree, since a page
//    joins a tree only through a page of the tree whose links change, which walks that tree again.
import { BtreeFormatError, BtreePages, type PageReader } from './btree-pages.js';
import type { SchemaObjects } from './read-set.js';

/** Offset of the schema cookie in the database header. */
const SCHEMA_COOKIE = 40;
/** sqlite_schema's root page. */
const SCHEMA_ROOT = 1;
/** Told pages kept before a look walks everything instead (a rebase or snapshot may tell thousands). */
const MIN_TOLD = 256;

export interface Change {
  readonly schema: boolean;
  /** Roots of the watched tables that changed (empty when `schema` is true: everything is stale). */
  readonly roots: ReadonlySet<number>;
}

/** Where a TableChanges reads the file, and hears which of its pages may have changed. */
export interface WatchedPages {
  readonly read: PageReader;
  /** Calls `told` with each page that may hold other bytes now (page-store.ts invariant 8). */
  watch(told: (pgno: number) => void): void;
}

const NONE: ReadonlySet<number> = new Set();

export class TableChanges {
  readonly #read: PageReader;
  readonly #loadSchema: () => SchemaObjects;
  #schemaTree: BtreePages | undefined;
  #cookie = 0;
  #objects: SchemaObjects | undefined;
  readonly #tables = new Map<number, BtreePages>();
  /** Which watched tree holds each of their pages (invariant 4). */
  readonly #owner = new Map<number, number>();
  /** Pages told since the last look; ignored while `#walkAll`, the next look walking every tree anyway. */
  readonly #told = new Set<number>();
  #walkAll = true;

  /** `loadSchema` reads sqlite_schema (through SQLite); it is called once per schema. */
  constructor(pages: WatchedPages, loadSchema: () => SchemaObjects) {
    this.#read = pages.read;
    this.#loadSchema = loadSchema;
    pages.watch((pgno) => {
      if (this.#walkAll) return;
      this.#told.add(pgno);
      if (this.#told.size > MIN_TOLD && this.#told.size > this.#owner.size) this.#walkEverything();
    });
  }

  /** The schema objects as of the last look (read when first needed). */
  get schema(): SchemaObjects {
    this.#objects ??= this.#loadSchema();
    return this.#objects;
  }

  /** What changed since the last look (invariants 1 and 2). The first look reports the schema changed. */
  look(): Change {
    const walkAll = this.#walkAll;
    this.#walkAll = false;
    try {
      const cookie = this.#cookieNow();
      const cookieChanged = cookie !== this.#cookie;
      this.#cookie = cookie;
      if (cookieChanged || this.#schemaTree === undefined) return this.#schemaChanged();
      return walkAll ? this.#lookEverywhere() : this.#lookAtTold();
    } catch (error) {
      if (!(error instanceof BtreeFormatError)) throw error;
      return this.#schemaChanged();
    } finally {
      this.#told.clear();
    }
  }

  /** Watches exactly the tables with these roots from now on; new ones from the file as it is now (invariant 3). */
  keep(roots: ReadonlySet<number>): void {
    for (const [root, tree] of this.#tables) {
      if (roots.has(root)) continue;
      this.#unindex(tree);
      this.#tables.delete(root);
    }
    for (const root of roots) {
      if (this.#tables.has(root)) continue;
      try {
        const tree = new BtreePages(root, this.#read);
        this.#tables.set(root, tree);
        this.#index(tree);
      } catch (error) {
        if (!(error instanceof BtreeFormatError)) throw error;
        // Unreadable now, or overlapping another watched tree: the next look reports the schema
        // changed, which re-runs every query.
        this.#schemaTree = undefined;
      }
    }
  }

  /** Compares every page of every watched tree with the last walk. */
  #lookEverywhere(): Change {
    const schemaTree = this.#schemaTree!;
    if (schemaTree.update()) return this.#schemaChanged();
    this.#owner.clear();
    this.#index(schemaTree);
    const roots = new Set<number>();
    for (const [root, tree] of this.#tables) {
      if (tree.update()) roots.add(root);
      this.#index(tree);
    }
    return { schema: false, roots };
  }

  /** Looks at the told pages of watched trees alone, and walks again the trees whose links changed. */
  #lookAtTold(): Change {
    const roots = new Set<number>();
    const walk = new Set<number>();
    for (const pgno of this.#told) {
      const root = this.#owner.get(pgno);
      if (root === undefined) continue;
      const touch = this.#tree(root).touch(pgno);
      if (touch === 'same') continue;
      if (root === SCHEMA_ROOT) return this.#schemaChanged();
      roots.add(root);
      if (touch === 'structure') walk.add(root);
    }
    for (const root of walk) this.#unindex(this.#tree(root));
    for (const root of walk) {
      const tree = this.#tree(root);
      tree.update();
      this.#index(tree);
    }
    return { schema: false, roots };
  }

  #tree(root: number): BtreePages {
    const tree = root === SCHEMA_ROOT ? this.#schemaTree : this.#tables.get(root);
    if (tree === undefined)
      throw new BtreeFormatError(`page index names b-tree ${root}, which is not watched`);
    return tree;
  }

  /**
   * Maps the tree's pages to it, and its root even when the file does not hold it (an empty tree: a root
   * page that appears is told). A page another watched tree holds means the file is no b-trees.
   */
  #index(tree: BtreePages): void {
    this.#claim(tree.root, tree.root);
    for (const pgno of tree.pgnos()) this.#claim(pgno, tree.root);
  }

  #claim(pgno: number, root: number): void {
    const other = this.#owner.get(pgno);
    if (other !== undefined && other !== root) {
      throw new BtreeFormatError(`page ${pgno} is in b-trees ${other} and ${root}`);
    }
    this.#owner.set(pgno, root);
  }

  #unindex(tree: BtreePages): void {
    for (const pgno of tree.pgnos()) if (this.#owner.get(pgno) === tree.root) this.#owner.delete(pgno);
    if (this.#owner.get(tree.root) === tree.root) this.#owner.delete(tree.root);
  }

  #walkEverything(): void {
    this.#walkAll = true;
    this.#told.clear();
  }

  #cookieNow(): number {
    const page1 = this.#read(1);
    return page1 === undefined ? 0 : new DataView(page1.buffer, page1.byteOffset).getUint32(SCHEMA_COOKIE);
  }

  /** Forgets every table (invariant 1) and walks sqlite_schema again; unreadable, the next look retries. */
  #schemaChanged(): Change {
    this.#tables.clear();
    this.#owner.clear();
    this.#objects = undefined;
    this.#schemaTree = undefined;
    try {
      const schemaTree = new BtreePages(SCHEMA_ROOT, this.#read);
      this.#index(schemaTree);
      this.#schemaTree = schemaTree;
    } catch (error) {
      if (!(error instanceof BtreeFormatError)) throw error;
      this.#owner.clear();
    }
    return { schema: true, roots: NONE };
  }
}
