// The pages of one b-tree of a SQLite database file (a table with the overflow pages of its rows, or
// sqlite_schema rooted at page 1), read straight from the page store, and whether they changed.
//
// Why this finds every change: the walk from a root reaches every page holding the tree's rows. If no
// page it reaches now differs from the page with that number at the last walk, and it reaches no page
// the last walk did not, then both walks read the same bytes from the same pages, so the tree (every
// row, every rowid) is the same. A page joining a tree is linked from a page of it and a page leaving it
// is unlinked from one, so the tree's page set only changes through pages that changed too.
//
// Invariants:
// 1. After each `update`, `pages` is exactly the set of pages reachable from the root in the file as it
//    is now: interior and leaf pages, and the overflow pages of their cells (what SQLite's dbstat lists
//    for that b-tree). A root the file does not hold is an empty tree.
// 2. `update` returns true whenever the tree's pages or any of their bytes differ from the last walk
//    (false when they are equal, even if stored anew). For page 1 only bytes 100 onwards count: the
//    file header before them is not part of the tree.
// 3. A page whose bytes are the same array as at the last walk is not parsed again: the page store
//    never changes a stored page in place (page-store.ts invariant 2), so this costs a map lookup per
//    page of the tree, plus a parse per page that changed.
// 4. Bytes that cannot be this tree's pages (a cycle, a cell outside its page, a child beyond the
//    file) throw BtreeFormatError: the caller then treats everything as changed.
// 5. `touch(pgno)` looks at one page of the tree alone and says 'same' when its bytes are, 'content'
//    when they differ but it links exactly the pages it linked at the last look (its children and its
//    cells' overflow chains, or for an overflow page the next page of its chain), and 'structure'
//    otherwise (or when it is no page of this tree): only then may the tree's page set have changed, which
//    `update` walks again. A page joining or leaving the tree changes the links of a page of the tree
//    (see above), so a caller that touches every page whose bytes may have changed, and walks again
//    after 'structure', always holds the tree's exact pages.

/** A page of the visible file, or undefined where the file holds none. */
export type PageReader = (pgno: number) => Uint8Array | undefined;

export class BtreeFormatError extends Error {
  override readonly name = 'BtreeFormatError';
}

/** The database header's size: page 1's b-tree starts after it. */
const FILE_HEADER = 100;

const INTERIOR_INDEX = 2;
const INTERIOR_TABLE = 5;
const LEAF_INDEX = 10;
const LEAF_TABLE = 13;

/** What one page of the tree links to; `Touch` says how a page changed (invariant 5). */
export type Touch = 'same' | 'content' | 'structure';

interface Parsed {
  readonly children: readonly number[];
  /** Each overflow chain as its first page and its length, flat: [first, length, first, length, …]. */
  readonly chains: readonly number[];
}

interface Entry {
  bytes: Uint8Array;
  /** Undefined for an overflow page. */
  readonly parsed: Parsed | undefined;
}

export class BtreePages {
  readonly root: number;
  readonly #read: PageReader;
  #pages = new Map<number, Entry>();

  /** Walks the tree as it is now; the first `update` compares with this walk. */
  constructor(root: number, read: PageReader) {
    this.root = root;
    this.#read = read;
    this.update();
  }

  get pages(): ReadonlySet<number> {
    return new Set(this.#pages.keys());
  }

  /** The pages of the tree as of the last walk. */
  pgnos(): IterableIterator<number> {
    return this.#pages.keys();
  }

  /** How page `pgno` differs from the last look at it (invariant 5); a 'content' page is looked at anew. */
  touch(pgno: number): Touch {
    const entry = this.#pages.get(pgno);
    const bytes = this.#read(pgno);
    if (entry === undefined || bytes === undefined) return 'structure';
    if (sameBytes(entry.bytes, bytes, pgno)) {
      entry.bytes = bytes;
      return 'same';
    }
    if (entry.parsed === undefined) {
      if (u32(bytes, 0) !== u32(entry.bytes, 0)) return 'structure';
      entry.bytes = bytes;
      return 'content';
    }
    let parsed: Parsed;
    try {
      parsed = parsePage(bytes, pgno, usableSize(this.#read(1) ?? bytes));
    } catch (error) {
      // It may have become another kind of page of the tree: the walk that follows decides.
      if (error instanceof BtreeFormatError) return 'structure';
      throw error;
    }
    const { children, chains } = entry.parsed;
    if (!sameNumbers(parsed.children, children) || !sameNumbers(parsed.chains, chains)) return 'structure';
    this.#pages.set(pgno, { bytes, parsed });
    return 'content';
  }

  /** Walks the tree again; true when its pages or their bytes changed since the last walk (invariant 2). */
  update(): boolean {
    const before = this.#pages;
    const after = new Map<number, Entry>();
    let changed = false;
    const rootBytes = this.#read(this.root);
    if (rootBytes === undefined) {
      this.#pages = after;
      return before.size > 0;
    }
    const usable = usableSize(this.#read(1) ?? rootBytes);
    const visit = (pgno: number, overflow: boolean): Entry => {
      const bytes = pgno === 0 ? undefined : this.#read(pgno);
      if (bytes === undefined)
        throw new BtreeFormatError(`page ${pgno} of b-tree ${this.root} is not in the file`);
      if (after.has(pgno)) throw new BtreeFormatError(`page ${pgno} is reached twice in b-tree ${this.root}`);
      const old = before.get(pgno);
      let entry: Entry;
      if (old !== undefined && (old.parsed === undefined) === overflow && sameBytes(old.bytes, bytes, pgno)) {
        old.bytes = bytes;
        entry = old;
      } else {
        changed = true;
        entry = { bytes, parsed: overflow ? undefined : parsePage(bytes, pgno, usable) };
      }
      after.set(pgno, entry);
      return entry;
    };
    const stack = [this.root];
    for (let pgno = stack.pop(); pgno !== undefined; pgno = stack.pop()) {
      const { parsed } = visit(pgno, false);
      for (const child of parsed!.children) stack.push(child);
      const { chains } = parsed!;
      for (let c = 0; c < chains.length; c += 2) {
        let page = chains[c]!;
        const length = chains[c + 1]!;
        for (let i = 0; i < length; i++) {
          const { bytes } = visit(page, true);
          if (i + 1 < length) page = u32(bytes, 0);
        }
      }
    }
    this.#pages = after;
    return changed || after.size !== before.size;
  }
}

/** Page size minus the bytes reserved at the end of each page, from the database header. */
function usableSize(page1: Uint8Array): number {
  const raw = (page1[16]! << 8) | page1[17]!;
  const pageSize = raw === 1 ? 65536 : raw;
  return (pageSize || page1.length) - (page1[20] ?? 0);
}

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Equal pages, the identical array first (invariant 3); page 1 from its b-tree on (invariant 2). */
function sameBytes(a: Uint8Array, b: Uint8Array, pgno: number): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  const from = pgno === 1 ? FILE_HEADER : 0;
  if (a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0 && a.length % 4 === 0) {
    const wa = new Int32Array(a.buffer, a.byteOffset, a.length / 4);
    const wb = new Int32Array(b.buffer, b.byteOffset, b.length / 4);
    for (let i = from / 4; i < wa.length; i++) if (wa[i] !== wb[i]) return false;
    return true;
  }
  for (let i = from; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A b-tree page's children and its cells' overflow chains, per SQLite's file format (§1.6). */
function parsePage(page: Uint8Array, pgno: number, usable: number): Parsed {
  const header = pgno === 1 ? FILE_HEADER : 0;
  const type = page[header];
  const interior = type === INTERIOR_INDEX || type === INTERIOR_TABLE;
  const table = type === INTERIOR_TABLE || type === LEAF_TABLE;
  if (!interior && type !== LEAF_INDEX && type !== LEAF_TABLE) {
    throw new BtreeFormatError(`page ${pgno} is not a b-tree page (type ${type})`);
  }
  const cells = u16(page, header + 3);
  const pointers = header + (interior ? 12 : 8);
  if (pointers + 2 * cells > usable) throw new BtreeFormatError(`page ${pgno} claims ${cells} cells`);
  const children: number[] = interior ? [u32(page, header + 8)] : [];
  const chains: number[] = [];
  // Payload kept on the page before it overflows, as SQLite computes it (btreeParseCellPtr).
  const maxLocal = table ? usable - 35 : Math.floor(((usable - 12) * 64) / 255) - 23;
  const minLocal = Math.floor(((usable - 12) * 32) / 255) - 23;
  for (let i = 0; i < cells; i++) {
    let at = u16(page, pointers + 2 * i);
    if (at < pointers + 2 * cells || at >= usable) {
      throw new BtreeFormatError(`cell ${i} of page ${pgno} lies outside it`);
    }
    if (interior) {
      children.push(u32(page, at));
      at += 4;
      if (type === INTERIOR_TABLE) continue;
    }
    const payload = varint(page, at);
    at += varintLength;
    if (type === LEAF_TABLE) {
      varint(page, at);
      at += varintLength;
    }
    if (payload <= maxLocal) continue;
    const surplus = minLocal + ((payload - minLocal) % (usable - 4));
    const local = surplus <= maxLocal ? surplus : minLocal;
    if (at + local + 4 > usable) throw new BtreeFormatError(`cell ${i} of page ${pgno} overruns it`);
    chains.push(u32(page, at + local), Math.ceil((payload - local) / (usable - 4)));
  }
  return { children, chains };
}

function u16(page: Uint8Array, at: number): number {
  return (page[at]! << 8) | page[at + 1]!;
}

function u32(page: Uint8Array, at: number): number {
  return ((page[at]! << 24) | (page[at + 1]! << 16) | (page[at + 2]! << 8) | page[at + 3]!) >>> 0;
}

/** The length of the varint `varint` read last (a tuple per varint would be garbage on a hot path). */
let varintLength = 0;

/** A SQLite varint at `at`: its value (exact below 2^53, which any payload size is); its length in `varintLength`. */
function varint(page: Uint8Array, at: number): number {
  let value = 0;
  for (let i = 0; i < 8; i++) {
    const byte = page[at + i];
    if (byte === undefined) throw new BtreeFormatError('a varint runs past its page');
    value = value * 128 + (byte & 0x7f);
    if (byte < 0x80) {
      varintLength = i + 1;
      return value;
    }
  }
  const last = page[at + 8];
  if (last === undefined) throw new BtreeFormatError('a varint runs past its page');
  varintLength = 9;
  return value * 256 + last;
}
