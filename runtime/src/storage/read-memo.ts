// A ByteStore that reads each file once while a document opens: the timeline is read by the audit
// (timeline-audit.ts) and again by the journal's recovery, and each read of a big timeline costs its
// bytes in I/O and allocation. Invariants:
// 1. A read returns the file as the store holds it now: a file appended to or deleted through this
//    store is read again; every caller gets its own copy.
// 2. After `release` it only passes calls through (what kept it, a journal, a base, writes through it
//    for as long as the document is open) and holds no bytes.
import type { ByteStore } from './byte-store.js';

export class ReadMemo implements ByteStore {
  readonly #store: ByteStore;
  #memo: Map<string, Promise<Uint8Array | undefined>> | undefined = new Map();

  constructor(store: ByteStore) {
    this.#store = store;
  }

  list(): Promise<string[]> {
    return this.#store.list();
  }

  async read(name: string): Promise<Uint8Array | undefined> {
    const memo = this.#memo;
    if (memo === undefined) return this.#store.read(name);
    let read = memo.get(name);
    if (read === undefined) {
      read = this.#store.read(name);
      memo.set(name, read);
      read.catch(() => memo.delete(name));
    }
    const bytes = await read;
    return bytes === undefined ? undefined : new Uint8Array(bytes);
  }

  append(name: string, bytes: Uint8Array): Promise<void> {
    this.#memo?.delete(name);
    return this.#store.append(name, bytes);
  }

  sync(name: string): Promise<void> {
    return this.#store.sync(name);
  }

  delete(name: string): Promise<void> {
    this.#memo?.delete(name);
    return this.#store.delete(name);
  }

  /** Forgets what it read (invariant 2). */
  release(): void {
    this.#memo = undefined;
  }
}
