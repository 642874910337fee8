// Byte I/O under every journal: a flat namespace of named files that are only ever appended to, read
// whole, synced and deleted. Nothing is rewritten in place, so the same interface fits node:fs, the
// browser's asynchronous OPFS API (where an in-place write copies the whole file) and the in-memory
// stores of the tests.
//
// Durability contract, which every implementation keeps and every journal relies on:
// 1. `append` returns once the bytes are readable through this store; they survive a crash only after a
//    later `sync` of the same file has resolved. A crash may keep any prefix of the unsynced appends,
//    including part of one append (a torn write).
// 2. A file created by `append` exists after a crash once its `sync` has resolved.
// 3. `delete` may be undone by a crash (the file reappears whole); recovery must tolerate stale files.
// 4. Names are `[a-z0-9._-]+`; a store never interprets them.

export interface ByteStore {
  /** The names of the files present, in no particular order. */
  list(): Promise<string[]>;
  /** The whole file, or undefined when it does not exist. */
  read(name: string): Promise<Uint8Array | undefined>;
  /** Appends to the end of the file, creating it when missing. */
  append(name: string, bytes: Uint8Array): Promise<void>;
  /** Makes everything appended to the file so far durable, its existence included. */
  sync(name: string): Promise<void>;
  /** Removes the file; removing a missing file is not an error. */
  delete(name: string): Promise<void>;
}

const NAME = /^[a-z0-9._-]+$/;

export function checkFileName(name: string): void {
  if (!NAME.test(name) || name === '.' || name === '..') {
    throw new RangeError(`invalid file name ${JSON.stringify(name)}`);
  }
}
