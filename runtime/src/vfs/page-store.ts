// A database file as fixed-size pages in memory, plus the set of pages written since the last commit.
//
// Invariants:
// 1. The file is exactly `pageCount * PAGE_SIZE` bytes; pgno runs from 1 to pageCount. A page within the
//    file that was never written reads as zeros (`read` returns undefined for it).
// 2. A stored page is never mutated in place: `write` stores a copy and replaces the old array, so an
//    array handed out by `read` stays valid (and must be treated as read-only by the caller).
// 3. The dirty set holds the pages written through `write` since `clearDirty`; it never holds a pgno
//    beyond pageCount. `applyFrame` installs already-committed pages and does not touch it.
import type { FramePage } from '../frame.js';

export const PAGE_SIZE = 4096;

export class PageStore {
  readonly #pages = new Map<number, Uint8Array>();
  readonly #dirty = new Set<number>();
  #pageCount = 0;

  get pageCount(): number {
    return this.#pageCount;
  }

  read(pgno: number): Uint8Array | undefined {
    return this.#pages.get(pgno);
  }

  write(pgno: number, bytes: Uint8Array): void {
    this.#put(pgno, bytes);
    this.#dirty.add(pgno);
  }

  truncate(pageCount: number): void {
    checkCount(pageCount);
    if (pageCount < this.#pageCount) {
      for (const pgno of this.#pages.keys()) if (pgno > pageCount) this.#pages.delete(pgno);
      for (const pgno of this.#dirty) if (pgno > pageCount) this.#dirty.delete(pgno);
    }
    this.#pageCount = pageCount;
  }

  /** Stored pages in pgno order (holes, which read as zeros, are skipped). */
  *pages(): IterableIterator<FramePage> {
    const pgnos = [...this.#pages.keys()].sort((a, b) => a - b);
    for (const pgno of pgnos) yield { pgno, data: this.#pages.get(pgno)! };
  }

  applyFrame(frame: { readonly pageCount: number; readonly pages: readonly FramePage[] }): void {
    checkCount(frame.pageCount);
    for (const page of frame.pages) {
      if (page.pgno > frame.pageCount) {
        throw new RangeError(`frame page ${page.pgno} lies beyond its page count ${frame.pageCount}`);
      }
    }
    this.truncate(frame.pageCount);
    for (const page of frame.pages) this.#put(page.pgno, page.data);
  }

  /** The pages written since the last `clearDirty`, in pgno order. */
  dirtyPages(): number[] {
    return [...this.#dirty].sort((a, b) => a - b);
  }

  clearDirty(): void {
    this.#dirty.clear();
  }

  snapshotBytes(): Uint8Array<ArrayBuffer> {
    const bytes = new Uint8Array(this.#pageCount * PAGE_SIZE);
    for (const [pgno, data] of this.#pages) bytes.set(data, (pgno - 1) * PAGE_SIZE);
    return bytes;
  }

  async hash(): Promise<string> {
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', this.snapshotBytes()));
    return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  #put(pgno: number, bytes: Uint8Array): void {
    if (!Number.isSafeInteger(pgno) || pgno < 1) throw new RangeError(`invalid page number ${pgno}`);
    if (bytes.length !== PAGE_SIZE)
      throw new RangeError(`page ${pgno} has ${bytes.length} bytes, not ${PAGE_SIZE}`);
    this.#pages.set(pgno, bytes.slice());
    if (pgno > this.#pageCount) this.#pageCount = pgno;
  }
}

function checkCount(pageCount: number): void {
  if (!Number.isSafeInteger(pageCount) || pageCount < 0)
    throw new RangeError(`invalid page count ${pageCount}`);
}
