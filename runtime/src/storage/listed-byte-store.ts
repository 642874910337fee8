// A ByteStore that keeps its folder's listing while it opens a document: the open lists the folder
// once for each part it recovers (the timeline's audit, the base, the identity, the overlay cache, the
// journal), and each listing is a walk of the folder (in the browser, round trips to the storage
// process). Once the document is open (`stopKeeping`), every list asks the store again.
//
// Invariants:
// 1. `list` answers what the inner store would, provided every change to the folder while it keeps a
//    listing goes through this store (an open document's folder is locked to it: no other writer).
// 2. A change that may alter the names (an append to a file the kept listing does not hold, a delete)
//    forgets the listing when it starts and again when it ends, so a listing taken while it ran is not
//    kept. An append to a listed file leaves the names as they were.
import type { ByteStore } from './byte-store.js';

export class ListedByteStore implements ByteStore {
  readonly #store: ByteStore;
  #listing: Promise<readonly string[]> | undefined;
  /** The names of the kept listing, once it has been read. */
  #names: ReadonlySet<string> | undefined;
  #keeping = true;

  constructor(store: ByteStore) {
    this.#store = store;
  }

  /** From now on every `list` asks the inner store. */
  stopKeeping(): void {
    this.#keeping = false;
    this.#forget();
  }

  async list(): Promise<string[]> {
    if (!this.#keeping) return this.#store.list();
    let listing = this.#listing;
    if (listing === undefined) {
      const asked = this.#store.list();
      listing = asked;
      this.#listing = asked;
      asked.then(
        (names) => {
          if (this.#listing === asked) this.#names = new Set(names);
        },
        () => {
          if (this.#listing === asked) this.#listing = undefined;
        },
      );
    }
    // A copy: callers may sort or filter what they get.
    return [...(await listing)];
  }

  read(name: string): Promise<Uint8Array | undefined> {
    return this.#store.read(name);
  }

  // Every call reaches the inner store in the same turn, so operations on a file keep their order.
  append(name: string, bytes: Uint8Array): Promise<void> {
    if (!this.#keeping || this.#names?.has(name) === true) return this.#store.append(name, bytes);
    return this.#changing(this.#store.append(name, bytes));
  }

  sync(name: string): Promise<void> {
    return this.#store.sync(name);
  }

  delete(name: string): Promise<void> {
    if (!this.#keeping) return this.#store.delete(name);
    return this.#changing(this.#store.delete(name));
  }

  /** Waits for a change that may alter the names, forgetting the listing before and after it (invariant 2). */
  async #changing(change: Promise<void>): Promise<void> {
    this.#forget();
    try {
      await change;
    } finally {
      this.#forget();
    }
  }

  #forget(): void {
    this.#listing = undefined;
    this.#names = undefined;
  }
}
