// A view of a ByteStore holding only the files whose names start with a prefix, seen without it: lets
// several journals (a client's timeline and the base of one history) share one folder without seeing
// each other's files.
import { type ByteStore, checkFileName } from './byte-store.js';

export class PrefixedByteStore implements ByteStore {
  readonly #store: ByteStore;
  readonly prefix: string;

  constructor(store: ByteStore, prefix: string) {
    checkFileName(`${prefix}x`);
    this.#store = store;
    this.prefix = prefix;
  }

  async list(): Promise<string[]> {
    return (await this.#store.list())
      .filter((n) => n.startsWith(this.prefix))
      .map((n) => n.slice(this.prefix.length));
  }

  read(name: string): Promise<Uint8Array | undefined> {
    return this.#store.read(this.#name(name));
  }

  append(name: string, bytes: Uint8Array): Promise<void> {
    return this.#store.append(this.#name(name), bytes);
  }

  sync(name: string): Promise<void> {
    return this.#store.sync(this.#name(name));
  }

  delete(name: string): Promise<void> {
    return this.#store.delete(this.#name(name));
  }

  #name(name: string): string {
    checkFileName(name);
    return this.prefix + name;
  }
}
