// The ByteStore of a Node process: one directory of the local file system, made durable with fsync.
//
// Invariants:
// 1. Operations on one file take effect one at a time, in call order (a queue per file), so appends,
//    syncs and deletes issued without awaiting land in the order they were called; a read waits for the
//    operations queued on its file before it.
// 2. Appends waiting next to each other in a file's queue go out in one writev, and syncs waiting next
//    to each other share one fdatasync: a journal issuing thousands of small appends a second costs few
//    system calls. Only the last queued operation takes more of its kind, so nothing jumps the queue.
// 3. An append copies its bytes when called: the caller may reuse its buffer at once.
// 4. A file written to keeps one handle, opened in append mode, until it is deleted or the store closed.
// 5. The first sync of a file in this store also fsyncs the directory, so the file's entry survives a
//    crash (contract point 2). Done once per file and store: the file may have been created here, or by
//    a process that crashed before syncing it.
// 6. A store opened with `lock` is the folder's only writer until it closes (folder-lock.ts): the lock is
//    taken before anything is read, and released by `close`, after the last handle.
// 7. A small append to an open file with nothing queued on it is written at once, synchronously: a
//    write into the page cache takes microseconds, while a trip to the thread pool and back takes a
//    tenth of a millisecond or more, on the path of every journal append that is then synced and
//    acknowledged. Nothing is in flight on the file then, so the order of invariant 1 holds.
// 8. A sync of a file that took at most SYNC_ON_THREAD_BYTES since its last sync runs its fdatasync on
//    the calling thread, as SQLite's own commit does: flushing a few hundred bytes takes a fraction of a
//    millisecond, while handing it to the thread pool costs two thread wake-ups, the dearest thing on
//    this machine's virtual CPUs (10 clients and a coordinator, six runs alternating with the thread
//    pool's build: mutate → confirmed p50 median 7.3 against 9.1 ms, p99 43 against 49 ms; the root
//    README.md's performance table). A larger sync (a page image of megabytes)
//    goes through the thread pool, so the thread is not held for the flush of all of it; so does any
//    sync while the store's owner says its thread is wanted elsewhere (`syncOnThread`: a document
//    worker with other pushes waiting), where overlapping the flush with other work is worth the
//    wake-ups (30 busy documents: 13.6 / 13.8k confirmed mutations/s with every small sync on the
//    thread, 15.1 / 15.2k through the pool).
import { constants, fdatasyncSync, writevSync } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, readFile, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { type ByteStore, checkFileName } from '@tandem/runtime/local';
import { type FolderLock, lockFolder } from './folder-lock.js';

/** Opens an existing file for appending, without creating it. */
const APPEND_EXISTING = constants.O_WRONLY | constants.O_APPEND;
/** The largest append written synchronously (invariant 7): larger ones go through the thread pool. */
const SYNC_APPEND_BYTES = 64 * 1024;
/** The most bytes written since a file's last sync for its fdatasync to run on this thread (invariant 8). */
const SYNC_ON_THREAD_BYTES = 64 * 1024;
/**
 * What a file holds unsynced when this store opens it: unknown (another store or process may have left
 * megabytes unflushed), so its first sync goes through the thread pool, as its directory's does.
 */
const UNKNOWN_UNSYNCED = Number.POSITIVE_INFINITY;

interface FileState {
  handle: FileHandle | undefined;
  /** The directory was fsynced since this store began using the file. */
  entryDurable: boolean;
  /** Bytes written to the file since its last sync began, or since this store opened it (invariant 8). */
  unsynced: number;
  /** Settles once every operation queued so far has. */
  tail: Promise<void>;
  /** Operations queued and not yet settled. */
  queued: number;
  /** The last operation queued, while it has not started: later calls of its kind join it. */
  joinable: Joinable | undefined;
}

interface Joinable {
  readonly kind: 'append' | 'sync';
  /** The bytes of the appends that joined. */
  readonly chunks: Uint8Array[];
  done: Promise<void>;
}

export interface FsByteStoreOptions {
  /** The store is the folder's only writer until it closes (invariant 6). */
  readonly lock?: boolean;
  /**
   * Whether a small sync may hold the calling thread now (invariant 8); always by default. A thread
   * serving many writers (the coordinator's document worker) says no while others wait on it.
   */
  readonly syncOnThread?: () => boolean;
}

export class FsByteStore implements ByteStore {
  readonly directory: string;
  private readonly files = new Map<string, FileState>();
  private readonly lock: FolderLock | undefined;
  private readonly syncOnThread: () => boolean;
  private closed = false;

  private constructor(directory: string, lock: FolderLock | undefined, syncOnThread: () => boolean) {
    this.directory = directory;
    this.lock = lock;
    this.syncOnThread = syncOnThread;
  }

  /**
   * A store over `directory`, created (with its parents) when missing. With `lock`, the store is the
   * folder's only writer until it closes: an open while another (in any thread or process) holds it
   * throws a TandemError `document-locked`.
   */
  static async open(directory: string, options: FsByteStoreOptions = {}): Promise<FsByteStore> {
    const path = resolve(directory);
    const created = await mkdir(path, { recursive: true });
    if (created !== undefined) {
      // Each new directory's entry lives in its parent: sync the parents, innermost first.
      for (let dir = path; dir !== dirname(created); dir = dirname(dir)) await syncDirectory(dirname(dir));
    }
    return new FsByteStore(
      path,
      options.lock === true ? await lockFolder(path) : undefined,
      options.syncOnThread ?? (() => true),
    );
  }

  async list(): Promise<string[]> {
    this.checkOpen();
    const entries = await readdir(this.directory, { withFileTypes: true });
    return entries.filter((entry) => entry.isFile() && isFileName(entry.name)).map((entry) => entry.name);
  }

  async read(name: string): Promise<Uint8Array | undefined> {
    checkFileName(name);
    this.checkOpen();
    await this.files.get(name)?.tail;
    try {
      const bytes = await readFile(this.path(name));
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async append(name: string, bytes: Uint8Array): Promise<void> {
    checkFileName(name);
    this.checkOpen();
    const file = this.file(name);
    if (file.queued === 0 && file.handle !== undefined && bytes.length <= SYNC_APPEND_BYTES) {
      writeAllSync(file.handle.fd, [bytes]);
      file.unsynced += bytes.length;
      return;
    }
    const copy = bytes.slice();
    if (file.joinable?.kind === 'append') {
      file.joinable.chunks.push(copy);
      return file.joinable.done;
    }
    const op: Joinable = { kind: 'append', chunks: [copy], done: Promise.resolve() };
    op.done = this.enqueue(file, op, () => this.write(name, file, op.chunks));
    return op.done;
  }

  async sync(name: string): Promise<void> {
    checkFileName(name);
    this.checkOpen();
    const file = this.file(name);
    if (file.joinable?.kind === 'sync') return file.joinable.done;
    const op: Joinable = { kind: 'sync', chunks: [], done: Promise.resolve() };
    op.done = this.enqueue(file, op, () => this.syncFile(name, file));
    return op.done;
  }

  async delete(name: string): Promise<void> {
    checkFileName(name);
    this.checkOpen();
    const file = this.file(name);
    return this.enqueue(file, undefined, async () => {
      const handle = file.handle;
      file.handle = undefined;
      file.entryDurable = false;
      file.unsynced = 0;
      await handle?.close();
      try {
        await unlink(this.path(name));
      } catch (error) {
        if (!isMissing(error)) throw error;
      }
      this.forgetIfIdle(name, file);
    });
  }

  /**
   * Waits for the queued operations, then closes every handle and releases the folder's lock; the store
   * refuses operations after.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const files = [...this.files.values()];
    this.files.clear();
    try {
      await Promise.all(files.map((file) => file.tail));
      await Promise.all(files.map((file) => file.handle?.close()));
    } finally {
      await this.lock?.release();
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`the byte store over ${this.directory} is closed`);
  }

  private path(name: string): string {
    return join(this.directory, name);
  }

  private file(name: string): FileState {
    let file = this.files.get(name);
    if (file === undefined) {
      file = {
        handle: undefined,
        entryDurable: false,
        unsynced: 0,
        tail: Promise.resolve(),
        queued: 0,
        joinable: undefined,
      };
      this.files.set(name, file);
    }
    return file;
  }

  /** Runs `run` after every operation queued on the file so far. */
  private enqueue(file: FileState, op: Joinable | undefined, run: () => Promise<void>): Promise<void> {
    file.queued++;
    file.joinable = op;
    const done = file.tail.then(() => {
      if (file.joinable === op) file.joinable = undefined;
      return run();
    });
    const settle = (): void => {
      file.queued--;
    };
    file.tail = done.then(settle, settle);
    return done;
  }

  /** A file with no handle and nothing queued behind the running operation needs no state. */
  private forgetIfIdle(name: string, file: FileState): void {
    if (file.handle === undefined && file.queued === 1 && this.files.get(name) === file)
      this.files.delete(name);
  }

  private async write(name: string, file: FileState, chunks: Uint8Array[]): Promise<void> {
    if (file.handle === undefined) {
      file.handle = await open(this.path(name), 'a');
      file.unsynced = UNKNOWN_UNSYNCED;
    }
    let pending = chunks;
    let remaining = chunks.reduce((total, chunk) => total + chunk.length, 0);
    while (remaining > 0) {
      const { bytesWritten } = await file.handle.writev(pending);
      file.unsynced += bytesWritten;
      remaining -= bytesWritten;
      if (remaining > 0) pending = skip(pending, bytesWritten);
    }
  }

  private async syncFile(name: string, file: FileState): Promise<void> {
    if (file.handle === undefined) {
      try {
        file.handle = await open(this.path(name), APPEND_EXISTING);
        file.unsynced = UNKNOWN_UNSYNCED;
      } catch (error) {
        if (!isMissing(error)) throw error;
        this.forgetIfIdle(name, file);
        return;
      }
    }
    const onThread = file.unsynced <= SYNC_ON_THREAD_BYTES && this.syncOnThread();
    file.unsynced = 0;
    if (onThread) fdatasyncSync(file.handle.fd);
    else await file.handle.datasync();
    if (!file.entryDurable) {
      await syncDirectory(this.directory);
      file.entryDurable = true;
    }
  }
}

/** Writes every byte of `chunks` to `fd`, on this thread (invariant 7). */
function writeAllSync(fd: number, chunks: Uint8Array[]): void {
  let pending = chunks;
  let remaining = chunks.reduce((total, chunk) => total + chunk.length, 0);
  while (remaining > 0) {
    const written = writevSync(fd, pending);
    remaining -= written;
    if (remaining > 0) pending = skip(pending, written);
  }
}

/** The chunks left after the first `count` bytes of them. */
function skip(chunks: Uint8Array[], count: number): Uint8Array[] {
  let index = 0;
  let left = count;
  while (left >= chunks[index]!.length) left -= chunks[index++]!.length;
  return [chunks[index]!.subarray(left), ...chunks.slice(index + 1)];
}

async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function isFileName(name: string): boolean {
  try {
    checkFileName(name);
    return true;
  } catch {
    return false;
  }
}

function isMissing(error: unknown): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === 'ENOENT';
}
