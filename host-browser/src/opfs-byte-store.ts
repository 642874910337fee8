// The browser's ByteStore: one OPFS folder, each file written through a synchronous access handle
// (dedicated workers), which appends in place and flushes to disk — no copy per write, unlike the
// asynchronous `createWritable`.
//
// Invariants:
// 1. A file has at most one open access handle (OPFS locks the file while it is open): handles are
//    kept open until `delete` or `close`, so a document's files belong to the one worker that opened them.
// 2. `append` writes at the handle's size and `sync` flushes: the ByteStore contract's durability.
// 3. Operations on one file run in call order (a queue per file), as the contract requires.
// 4. A store opened with `lock` is the folder's only writer until it closes: it holds an access handle
//    on `LOCK` (not a ByteStore name, never listed) from before anything is read, so a second open —
//    another worker or tab of the origin, or this one — is refused with `document-locked`. The browser
//    drops the handle when the worker ends, so a crashed holder blocks nothing.
import { type ByteStore, checkFileName, TandemError } from '@tandem/runtime';
import type {} from './opfs-sync-access.js';

const LOCK_FILE = 'LOCK';

export class OpfsByteStore implements ByteStore {
  readonly #directory: FileSystemDirectoryHandle;
  readonly #lock: FileSystemSyncAccessHandle | undefined;
  readonly #handles = new Map<string, Promise<FileSystemSyncAccessHandle>>();
  readonly #queues = new Map<string, Promise<unknown>>();
  #closed = false;

  private constructor(directory: FileSystemDirectoryHandle, lock: FileSystemSyncAccessHandle | undefined) {
    this.#directory = directory;
    this.#lock = lock;
  }

  /**
   * The store of `path` (folder names, created when missing) under the origin's OPFS root. With `lock`,
   * the store is the folder's only writer until it closes: an open while another holds it throws a
   * TandemError `document-locked`.
   */
  static async open(
    path: readonly string[],
    options: { readonly lock?: boolean } = {},
  ): Promise<OpfsByteStore> {
    let directory = await navigator.storage.getDirectory();
    for (const name of path) directory = await directory.getDirectoryHandle(name, { create: true });
    return new OpfsByteStore(directory, options.lock === true ? await lock(directory, path) : undefined);
  }

  /** Whether this context can use the store: OPFS with synchronous access handles (a dedicated worker). */
  static get supported(): boolean {
    return (
      typeof navigator !== 'undefined' &&
      typeof navigator.storage?.getDirectory === 'function' &&
      typeof FileSystemFileHandle !== 'undefined' &&
      'createSyncAccessHandle' in FileSystemFileHandle.prototype
    );
  }

  async list(): Promise<string[]> {
    this.#assertOpen();
    const names: string[] = [];
    for await (const [name, handle] of this.#directory.entries()) {
      if (handle.kind === 'file' && /^[a-z0-9._-]+$/.test(name)) names.push(name);
    }
    return names;
  }

  read(name: string): Promise<Uint8Array | undefined> {
    return this.#run(name, async () => {
      if (!this.#handles.has(name) && !(await this.#exists(name))) return undefined;
      const handle = await this.#handle(name);
      const bytes = new Uint8Array(handle.getSize());
      handle.read(bytes, { at: 0 });
      return bytes;
    });
  }

  append(name: string, bytes: Uint8Array): Promise<void> {
    const copy = bytes.slice();
    return this.#run(name, async () => {
      const handle = await this.#handle(name);
      const written = handle.write(copy, { at: handle.getSize() });
      if (written !== copy.length)
        throw new Error(`OPFS wrote ${written} of ${copy.length} bytes to ${name}`);
    });
  }

  sync(name: string): Promise<void> {
    return this.#run(name, async () => {
      if (!this.#handles.has(name)) return;
      (await this.#handle(name)).flush();
    });
  }

  delete(name: string): Promise<void> {
    return this.#run(name, async () => {
      const open = this.#handles.get(name);
      this.#handles.delete(name);
      if (open !== undefined) (await open).close();
      try {
        await this.#directory.removeEntry(name);
      } catch (error) {
        if (!(error instanceof DOMException && error.name === 'NotFoundError')) throw error;
      }
    });
  }

  /** Flushes and closes every handle, then releases the lock; the store refuses operations afterwards. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await Promise.allSettled([...this.#queues.values()]);
      for (const open of this.#handles.values()) {
        const handle = await open;
        handle.flush();
        handle.close();
      }
      this.#handles.clear();
    } finally {
      this.#lock?.close();
    }
  }

  #handle(name: string): Promise<FileSystemSyncAccessHandle> {
    let open = this.#handles.get(name);
    if (open === undefined) {
      open = this.#directory
        .getFileHandle(name, { create: true })
        .then((file) => file.createSyncAccessHandle());
      this.#handles.set(name, open);
      open.catch(() => this.#handles.delete(name));
    }
    return open;
  }

  async #exists(name: string): Promise<boolean> {
    try {
      await this.#directory.getFileHandle(name);
      return true;
    } catch {
      return false;
    }
  }

  #run<T>(name: string, step: () => Promise<T>): Promise<T> {
    try {
      checkFileName(name);
      this.#assertOpen();
    } catch (error) {
      return Promise.reject(error);
    }
    const previous = this.#queues.get(name) ?? Promise.resolve();
    const run = previous.then(step, step);
    const settled = run.catch(() => undefined);
    this.#queues.set(name, settled);
    void settled.then(() => {
      if (this.#queues.get(name) === settled) this.#queues.delete(name);
    });
    return run;
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('the OPFS store is closed');
  }
}

/** Holds the folder's `LOCK` file open: OPFS lets one access handle at a time have it. */
async function lock(
  directory: FileSystemDirectoryHandle,
  path: readonly string[],
): Promise<FileSystemSyncAccessHandle> {
  const file = await directory.getFileHandle(LOCK_FILE, { create: true });
  try {
    return await file.createSyncAccessHandle();
  } catch (error) {
    if (error instanceof DOMException && error.name === 'NoModificationAllowedError') {
      throw new TandemError(
        'document-locked',
        `the document folder ${path.join('/')} is already open (in another worker or tab of this origin, or in this one)`,
        { file: [...path, LOCK_FILE].join('/') },
        { cause: error },
      );
    }
    throw error;
  }
}
