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
// 5. `list` starts opening the access handle of every file it lists, all at once: a document's open
//    reads each of them next, and each handle is a round trip to the browser's storage process (run
//    one file after another, they were a good part of an empty document's boot).
import { type ByteStore, checkFileName } from '@tandem/runtime/local';
import { type LockedFolder, openFolder, syncAccessSupported } from './opfs-folder.js';
import type {} from './opfs-sync-access.js';

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
    return OpfsByteStore.inFolder(await openFolder(path, options.lock === true));
  }

  /** The store of a folder already opened (and locked) with opfs-folder.ts. */
  static inFolder({ directory, lock }: LockedFolder): OpfsByteStore {
    return new OpfsByteStore(directory, lock);
  }

  /** Whether this context can use the store: OPFS with synchronous access handles (a dedicated worker). */
  static get supported(): boolean {
    return syncAccessSupported();
  }

  async list(): Promise<string[]> {
    this.#assertOpen();
    const names: string[] = [];
    for await (const [name, handle] of this.#directory.entries()) {
      if (handle.kind !== 'file' || !/^[a-z0-9._-]+$/.test(name)) continue;
      names.push(name);
      // Not through the file's queue: nothing queued for it can run before this handle anyway.
      if (!this.#handles.has(name))
        void this.#keep(name, (handle as FileSystemFileHandle).createSyncAccessHandle());
    }
    return names;
  }

  read(name: string): Promise<Uint8Array | undefined> {
    return this.#run(name, async () => {
      const handle = this.#handles.has(name) ? await this.#handle(name) : await this.#existing(name);
      if (handle === undefined) return undefined;
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
    return (
      this.#handles.get(name) ??
      this.#keep(
        name,
        this.#directory.getFileHandle(name, { create: true }).then((file) => file.createSyncAccessHandle()),
      )
    );
  }

  /** The handle of `name` if the file exists (one lookup serves both questions), undefined if not. */
  async #existing(name: string): Promise<FileSystemSyncAccessHandle | undefined> {
    let file: FileSystemFileHandle;
    try {
      file = await this.#directory.getFileHandle(name);
    } catch {
      return undefined;
    }
    return this.#handles.get(name) ?? this.#keep(name, file.createSyncAccessHandle());
  }

  #keep(name: string, open: Promise<FileSystemSyncAccessHandle>): Promise<FileSystemSyncAccessHandle> {
    this.#handles.set(name, open);
    open.catch(() => {
      if (this.#handles.get(name) === open) this.#handles.delete(name);
    });
    return open;
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
