// The `tandem` VFS: SQLite's main database file lives in a PageStore, and every commit becomes a frame.
//
// Invariants:
// 1. One VFS per sqlite3 instance (`installCaptureVfs` is idempotent); a database name is bound to one
//    PageStore while its connection is open.
// 2. The frame handed to `onCommit` holds exactly the pages written since the previous frame (pgno order,
//    the store's own arrays, lent: nobody may change them, and a listener that drops the frame may give
//    them back for reuse: page-store.ts invariants 2 and 9), taken at
//    SQLITE_FCNTL_COMMIT_PHASETWO, which SQLite sends after a successful commit and never on ROLLBACK.
//    No page written ⇒ no frame. A rolled-back transaction that had spilled to the file
//    leaves its pages dirty: most were restored to their committed bytes, but reused free pages are never
//    journaled and keep the rolled-back bytes (harmless to SQLite). Both kinds ride along with the next
//    frame, so at every commit the frames so far rebuild the file byte for byte (for a store whose pages
//    changed beneath SQLite: the frames since then, over the pages it had then); between commits the file
//    may differ from them in dirty pages only.
// 3. Stored pages are canonical: page 1's file change counter (bytes 24–27) and version-valid-for number
//    (92–95) are stored as STORED_COUNTER whatever SQLite wrote, so the pages depend on what was written,
//    never on how many transactions wrote it (batching, replays at reopen, rebases). The counter SQLite
//    sees is this VFS's alone (`Binding.counter`): both fields of page 1 read as it, and a write of page 1
//    sets it to what SQLite wrote there.
// 4. The visible counter strictly increases whenever pages change beneath SQLite (the store's
//    `generation` moves): before the next read or write it becomes one more than the last one SQLite read
//    or wrote, whatever the new pages store (always STORED_COUNTER). SQLite compares those bytes when a
//    transaction starts and drops its page cache when they differ, so it never serves a stale page.
// 5. While SQLite holds a lock on the main file (a transaction is open), the store is locked: its pages
//    cannot change beneath SQLite mid-transaction.
// 6. SQLite's clock and PRNG read only the envelope bound by `setEnvelope`: the clock through this VFS's
//    xCurrentTime(Int64) (used by connections on this VFS), the global PRNG through this VFS's
//    xRandomness, which SQLite calls (on the default VFS) when it reseeds the PRNG at its first draw after
//    a reset. From `setEnvelope` to `releaseEnvelopes` this VFS is the default, so every reseed comes here
//    and the VFS knows whether the PRNG drew since it was last reset: binding an envelope resets it only
//    then (or when this VFS was not the default: someone else may have seeded it). So the first draw
//    under an envelope reseeds from that envelope's stream, and a mutation that draws nothing costs no
//    reset, no reseed and no seed (the envelope's seed is asked for at the reseed). Entropy scheme v2
//    (protocol 4): v1 reseeded eagerly and drew one byte, so its draws began one byte later.
// Any other file SQLite opens here (temp files, sub-journals) is a plain growable in-memory byte file.
import type { FramePage } from '../frame.js';
import { Database } from '../sqlite/database.js';
import {
  SQLITE_CANTOPEN,
  SQLITE_FCNTL_COMMIT_PHASETWO,
  SQLITE_IOERR,
  SQLITE_IOERR_ACCESS,
  SQLITE_IOERR_DELETE,
  SQLITE_IOERR_FSTAT,
  SQLITE_IOERR_READ,
  SQLITE_IOERR_SHORT_READ,
  SQLITE_IOERR_TRUNCATE,
  SQLITE_IOERR_WRITE,
  SQLITE_LOCK_NONE,
  SQLITE_NOTFOUND,
  SQLITE_OK,
  SQLITE_OPEN_DELETEONCLOSE,
  SQLITE_OPEN_MAIN_DB,
} from '../sqlite/sqlite-codes.js';
import { installMethodTables } from '../sqlite/wasm-callbacks.js';
import type { Sqlite3, WasmPointer } from '../sqlite/wasm-instance.js';
import { type Seed, SeededRandom } from './entropy.js';
import { PAGE_SIZE, type PageStore } from './page-store.js';
import {
  allocStruct,
  SQLITE3_FILE,
  SQLITE3_IO_METHODS,
  SQLITE3_VFS,
  setMethods,
  signatures,
} from './vfs-structs.js';

export const CAPTURE_VFS_NAME = 'tandem';

export interface CommitFrame {
  readonly pageCount: number;
  readonly pages: FramePage[];
}

export type CommitListener = (frame: CommitFrame) => void;

export interface Envelope {
  readonly timestampMs: number;
  /** The PRNG's seed, or how to get it: called only when SQLite first draws randomness under this envelope. */
  readonly seed: bigint | Seed | (() => bigint | Seed);
}

/** How often SQLite's PRNG was touched, for diagnostics and tests. */
export interface EntropyCounts {
  /** Reseeds from an envelope: the first draw under each envelope that drew. */
  readonly reseeds: number;
  /** Resets of the PRNG by `setEnvelope` (it had drawn since the last one, or was not ours to know). */
  readonly resets: number;
}

export interface CaptureVfs {
  /**
   * Opens a database on `store`. `onCommit` runs synchronously inside SQLite's commit; it must not call
   * back into SQLite. If it throws, the commit statement fails with SQLITE_IOERR and the pages stay dirty
   * (they join the next frame).
   */
  open(name: string, store: PageStore, onCommit: CommitListener): Database;
  /**
   * Binds SQLite's clock and global PRNG to the envelope until the next call (invariant 6); makes this VFS
   * the default VFS until `releaseEnvelopes`.
   */
  setEnvelope(envelope: Envelope): void;
  /**
   * Gives the default VFS back (call it when the mutations are done, before other code may use SQLite).
   * The clock keeps the last envelope's time; the PRNG keeps its state, and the next `setEnvelope` resets it.
   */
  releaseEnvelopes(): void;
  readonly entropyCounts: EntropyCounts;
}

/** What page 1 stores as its change counter and version-valid-for number (invariant 3). */
export const STORED_COUNTER = 1;

/** Julian day number of the Unix epoch, in milliseconds (what xCurrentTimeInt64 reports). */
const UNIX_EPOCH_JULIAN_MS = 210_866_760_000_000n;
const MS_PER_DAY = 86_400_000;
const UNIX_EPOCH_JULIAN_DAY = 2_440_587.5;

interface MainFile {
  readonly kind: 'main';
  readonly binding: Binding;
}

interface MemoryFile {
  readonly kind: 'memory';
  readonly bytes: ByteFile;
}

type OpenFile = MainFile | MemoryFile;

interface Binding {
  readonly store: PageStore;
  readonly onCommit: CommitListener;
  /** The store's generation the counter was moved for. */
  generation: number;
  /** The change counter SQLite sees now: the last one it wrote, or one more after a change beneath it. */
  counter: number;
}

const CHANGE_COUNTER = 24;
const VERSION_VALID_FOR = 92;

const u32At = (page: Uint8Array, offset: number): number =>
  ((page[offset]! << 24) | (page[offset + 1]! << 16) | (page[offset + 2]! << 8) | page[offset + 3]!) >>> 0;

function setU32(page: Uint8Array, offset: number, value: number): void {
  for (let k = 0; k < 4; k++) page[offset + k] = (value >>> (24 - 8 * k)) & 0xff;
}

/**
 * Sets the counter bytes of page 1 that fall in `into`, which holds page 1's bytes from `pageOffset` on
 * at `at` (big-endian, as SQLite stores them).
 */
function setCounters(
  into: Uint8Array,
  at: number,
  pageOffset: number,
  length: number,
  counter: number,
): void {
  for (const field of [CHANGE_COUNTER, VERSION_VALID_FOR]) {
    for (let k = 0; k < 4; k++) {
      const offset = field + k;
      if (offset >= pageOffset && offset < pageOffset + length) {
        into[at + offset - pageOffset] = (counter >>> (24 - 8 * k)) & 0xff;
      }
    }
  }
}

/** A growable byte array; bytes past `size` are kept zero, so growing needs no clearing. */
class ByteFile {
  #data = new Uint8Array(0);
  size = 0;

  read(into: Uint8Array, offset: number): boolean {
    const available = Math.max(0, Math.min(into.length, this.size - offset));
    if (available > 0) into.set(this.#data.subarray(offset, offset + available));
    into.fill(0, available);
    return available === into.length;
  }

  write(from: Uint8Array, offset: number): void {
    const end = offset + from.length;
    if (end > this.#data.length) {
      const grown = new Uint8Array(Math.max(end, this.#data.length * 2));
      grown.set(this.#data.subarray(0, this.size));
      this.#data = grown;
    }
    this.#data.set(from, offset);
    if (end > this.size) this.size = end;
  }

  truncate(size: number): void {
    if (size < this.size) this.#data.fill(0, size, this.size);
    else this.write(new Uint8Array(0), size);
    this.size = size;
  }
}

type Callback = (...args: never[]) => number;

const installed = new WeakMap<Sqlite3, CaptureVfs>();

export function installCaptureVfs(sqlite3: Sqlite3): CaptureVfs {
  let vfs = installed.get(sqlite3);
  if (vfs === undefined) {
    vfs = createCaptureVfs(sqlite3);
    installed.set(sqlite3, vfs);
  }
  return vfs;
}

function createCaptureVfs(sqlite3: Sqlite3): CaptureVfs {
  const bindings = new Map<string, Binding>();
  const namedFiles = new Map<string, ByteFile>();
  const openFiles = new Map<WasmPointer, OpenFile>();
  let clockMs = 0;
  /** The envelope SQLite's PRNG reseeds from (invariant 6). */
  let envelope: Envelope | undefined;
  /** The envelope's stream, from its first reseed on. */
  let stream: SeededRandom | undefined;
  /** True from a reseed (through this VFS) to the next reset: the PRNG holds state someone drew. */
  let drawn = false;
  /** The default VFS `setEnvelope` displaced, while this VFS is the default. */
  let displaced: WasmPointer | undefined;
  const counts = { reseeds: 0, resets: 0 };

  const heapView = (pointer: WasmPointer, length: number): Uint8Array =>
    sqlite3.heap8u().subarray(pointer, pointer + length);
  // Out-parameters are written through a view of the heap, not the library's poke (which dispatches on
  // a type name at each call): SQLite asks for the file size and the journal at every transaction.
  let heapData: DataView = new DataView(new ArrayBuffer(0));
  const heapWords = (): DataView => {
    const { buffer } = sqlite3.heap8u();
    if (heapData.buffer !== buffer) heapData = new DataView(buffer);
    return heapData;
  };
  const put32 = (pointer: WasmPointer, value: number): void => heapWords().setInt32(pointer, value, true);

  // A JS exception must never unwind through SQLite's C frames: every callback is fenced. The fence has
  // a fixed arity (no VFS method takes more than five arguments): a rest-parameter wrapper allocated an
  // array on each of the several VFS calls per committed mutation.
  const guard = <A extends unknown[]>(
    fallback: number,
    fn: (...args: A) => number,
  ): ((...args: A) => number) => {
    const fixed = fn as unknown as (a: unknown, b: unknown, c: unknown, d: unknown, e: unknown) => number;
    const fenced = (a: unknown, b: unknown, c: unknown, d: unknown, e: unknown): number => {
      try {
        return fixed(a, b, c, d, e);
      } catch {
        return fallback;
      }
    };
    return fenced as unknown as (...args: A) => number;
  };

  /**
   * A C string from the heap. SQLite asks about its journal at every transaction, by the same pointer:
   * an ASCII name is kept by pointer and only compared again.
   */
  const names = new Map<WasmPointer, string>();
  const cString = (pointer: WasmPointer): string | null => {
    if (!pointer) return null;
    const heap = sqlite3.heap8u();
    const known = names.get(pointer);
    if (known !== undefined && heap[pointer + known.length] === 0) {
      let same = true;
      for (let i = 0; i < known.length && same; i++) same = heap[pointer + i] === known.charCodeAt(i);
      if (same) return known;
    }
    const name = sqlite3.cString(pointer);
    if (name !== null && [...name].every((c) => c < '\u0080')) {
      if (names.size >= 64) names.clear();
      names.set(pointer, name);
    }
    return name;
  };

  const fileOf = (pFile: WasmPointer): OpenFile => {
    const file = openFiles.get(pFile);
    if (file === undefined) throw new Error(`unknown sqlite3_file ${pFile}`);
    return file;
  };

  /** Invariant 4: called before any read or write of the main file. */
  const follow = (binding: Binding): void => {
    const { store } = binding;
    if (store.generation === binding.generation) return;
    binding.generation = store.generation;
    if (store.peek(1) !== undefined) binding.counter = (binding.counter + 1) >>> 0;
  };

  const readMain = (binding: Binding, into: Uint8Array, offset: number): boolean => {
    follow(binding);
    for (let done = 0; done < into.length; ) {
      const position = offset + done;
      const pgno = Math.floor(position / PAGE_SIZE) + 1;
      const inPage = position % PAGE_SIZE;
      const take = Math.min(PAGE_SIZE - inPage, into.length - done);
      const page = binding.store.peek(pgno);
      if (page === undefined) into.fill(0, done, done + take);
      else {
        into.set(page.subarray(inPage, inPage + take), done);
        if (pgno === 1) setCounters(into, done, inPage, take, binding.counter);
      }
      done += take;
    }
    return offset + into.length <= binding.store.pageCount * PAGE_SIZE;
  };

  const writeMain = (binding: Binding, from: Uint8Array, offset: number): void => {
    follow(binding);
    const { store } = binding;
    for (let done = 0; done < from.length; ) {
      const position = offset + done;
      const pgno = Math.floor(position / PAGE_SIZE) + 1;
      const inPage = position % PAGE_SIZE;
      const take = Math.min(PAGE_SIZE - inPage, from.length - done);
      // The store copies what it is given: SQLite's buffer is lent, never kept (and restored below).
      if (take === PAGE_SIZE) {
        const page = from.subarray(done, done + take);
        if (pgno === 1) {
          const written = u32At(page, CHANGE_COUNTER);
          const validFor = u32At(page, VERSION_VALID_FOR);
          binding.counter = written;
          setCounters(page, 0, 0, PAGE_SIZE, STORED_COUNTER);
          try {
            store.write(1, page);
          } finally {
            setU32(page, CHANGE_COUNTER, written);
            setU32(page, VERSION_VALID_FOR, validFor);
          }
        } else {
          store.write(pgno, page);
        }
      } else {
        const page = new Uint8Array(PAGE_SIZE);
        const old = store.peek(pgno);
        if (old !== undefined) page.set(old);
        page.set(from.subarray(done, done + take), inPage);
        if (pgno === 1) {
          // What SQLite wrote there, or (for a write that left the field alone) what it saw there.
          if (inPage <= CHANGE_COUNTER && inPage + take >= CHANGE_COUNTER + 4) {
            binding.counter = u32At(page, CHANGE_COUNTER);
          }
          setCounters(page, 0, 0, PAGE_SIZE, STORED_COUNTER);
        }
        store.write(pgno, page);
      }
      done += take;
    }
  };

  const commit = (binding: Binding): number => {
    const { store } = binding;
    // The store's own arrays: it never changes one in place (page-store.ts invariant 2).
    const pages = store.framePages();
    if (pages.length === 0) return SQLITE_OK;
    try {
      binding.onCommit({ pageCount: store.pageCount, pages });
    } catch {
      return SQLITE_IOERR;
    }
    store.clearDirty();
    return SQLITE_OK;
  };

  // The structs live as long as the instance: a registered VFS is never unregistered.
  const ioMethods = allocStruct(sqlite3, SQLITE3_IO_METHODS);
  put32(ioMethods + SQLITE3_IO_METHODS.fields.iVersion, 1);
  const vfsStruct = allocStruct(sqlite3, SQLITE3_VFS);
  put32(vfsStruct + SQLITE3_VFS.fields.iVersion, 2);
  put32(vfsStruct + SQLITE3_VFS.fields.szOsFile, SQLITE3_FILE.sizeof);
  put32(vfsStruct + SQLITE3_VFS.fields.mxPathname, 1024);
  put32(vfsStruct + SQLITE3_VFS.fields.zName, sqlite3.allocCString(CAPTURE_VFS_NAME)[0]);

  const IOERR = SQLITE_IOERR;
  const OK = SQLITE_OK;

  const ioCallbacks: Record<string, Callback> = {
    xClose: guard(IOERR, (pFile: WasmPointer) => {
      const file = openFiles.get(pFile);
      openFiles.delete(pFile);
      if (file?.kind === 'main') {
        file.binding.store.unlock();
        for (const [name, binding] of bindings) if (binding === file.binding) bindings.delete(name);
      }
      return OK;
    }),
    xRead: guard(SQLITE_IOERR_READ, (pFile: WasmPointer, pBuf: WasmPointer, n: number, offset: number) => {
      const file = fileOf(pFile);
      const into = heapView(pBuf, n);
      const complete =
        file.kind === 'main'
          ? readMain(file.binding, into, Number(offset))
          : file.bytes.read(into, Number(offset));
      return complete ? OK : SQLITE_IOERR_SHORT_READ;
    }),
    xWrite: guard(SQLITE_IOERR_WRITE, (pFile: WasmPointer, pBuf: WasmPointer, n: number, offset: number) => {
      const file = fileOf(pFile);
      const from = heapView(pBuf, n);
      if (file.kind === 'main') writeMain(file.binding, from, Number(offset));
      else file.bytes.write(from, Number(offset));
      return OK;
    }),
    xTruncate: guard(SQLITE_IOERR_TRUNCATE, (pFile: WasmPointer, size: number) => {
      const file = fileOf(pFile);
      if (file.kind === 'main') file.binding.store.truncate(Math.ceil(Number(size) / PAGE_SIZE));
      else file.bytes.truncate(Number(size));
      return OK;
    }),
    xSync: () => OK,
    xFileSize: guard(SQLITE_IOERR_FSTAT, (pFile: WasmPointer, pSize: WasmPointer) => {
      const file = fileOf(pFile);
      const size = file.kind === 'main' ? file.binding.store.pageCount * PAGE_SIZE : file.bytes.size;
      heapWords().setBigInt64(pSize, BigInt(size), true);
      return OK;
    }),
    // One connection per store, in one thread: there is nobody to exclude. A lock only tells the store
    // that a transaction is open (invariant 5).
    xLock: guard(IOERR, (pFile: WasmPointer, level: number) => {
      const file = fileOf(pFile);
      if (file.kind === 'main' && level > SQLITE_LOCK_NONE) file.binding.store.lock();
      return OK;
    }),
    xUnlock: guard(IOERR, (pFile: WasmPointer, level: number) => {
      const file = fileOf(pFile);
      if (file.kind === 'main' && level === SQLITE_LOCK_NONE) file.binding.store.unlock();
      return OK;
    }),
    xCheckReservedLock: guard(IOERR, (_pFile: WasmPointer, pResOut: WasmPointer) => {
      put32(pResOut, 0);
      return OK;
    }),
    xFileControl: guard(IOERR, (pFile: WasmPointer, op: number) => {
      const file = fileOf(pFile);
      if (file.kind === 'main' && op === SQLITE_FCNTL_COMMIT_PHASETWO) return commit(file.binding);
      return SQLITE_NOTFOUND;
    }),
    xSectorSize: () => 512,
    xDeviceCharacteristics: () => 0,
  };
  const vfsCallbacks: Record<string, Callback> = {
    xOpen: guard(
      SQLITE_CANTOPEN,
      (_pVfs: WasmPointer, zName: WasmPointer, pFile: WasmPointer, flags: number, pOutFlags: WasmPointer) => {
        const name = cString(zName);
        let file: OpenFile;
        if (flags & SQLITE_OPEN_MAIN_DB) {
          const binding = name === null ? undefined : bindings.get(name);
          if (binding === undefined) return SQLITE_CANTOPEN;
          file = { kind: 'main', binding };
        } else {
          const temporary = name === null || (flags & SQLITE_OPEN_DELETEONCLOSE) !== 0;
          let bytes = name === null ? undefined : namedFiles.get(name);
          if (bytes === undefined) {
            bytes = new ByteFile();
            if (!temporary && name !== null) namedFiles.set(name, bytes);
          }
          file = { kind: 'memory', bytes };
        }
        openFiles.set(pFile, file);
        put32(pFile + SQLITE3_FILE.fields.pMethods, ioMethods);
        if (pOutFlags) put32(pOutFlags, flags);
        return OK;
      },
    ),
    xDelete: guard(SQLITE_IOERR_DELETE, (_pVfs: WasmPointer, zName: WasmPointer) => {
      const name = cString(zName);
      if (name !== null) namedFiles.delete(name);
      return OK;
    }),
    xAccess: guard(
      SQLITE_IOERR_ACCESS,
      (_pVfs: WasmPointer, zName: WasmPointer, _flags: number, pResOut: WasmPointer) => {
        const name = cString(zName);
        const exists = name !== null && (namedFiles.has(name) || bindings.has(name));
        put32(pResOut, exists ? 1 : 0);
        return OK;
      },
    ),
    xFullPathname: guard(
      SQLITE_CANTOPEN,
      (_pVfs: WasmPointer, zName: WasmPointer, nOut: number, zOut: WasmPointer) => {
        const name = cString(zName) ?? '';
        const bytes = utf8.encode(name);
        if (bytes.length + 1 > nOut) return SQLITE_CANTOPEN;
        const out = heapView(zOut, bytes.length + 1);
        out.set(bytes);
        out[bytes.length] = 0;
        return OK;
      },
    ),
    xRandomness: (_pVfs: WasmPointer, n: number, pOut: WasmPointer) => {
      const bytes = new Uint8Array(n);
      drawn = true;
      try {
        if (envelope === undefined) {
          crypto.getRandomValues(bytes);
        } else {
          if (stream === undefined) {
            const { seed } = envelope;
            stream = new SeededRandom(typeof seed === 'function' ? seed() : seed);
            counts.reseeds++;
          }
          stream.fill(bytes);
        }
      } catch {
        // A seed that cannot be had leaves the bytes zero: SQLite cannot take an error here.
      }
      heapView(pOut, n).set(bytes);
      return n;
    },
    xSleep: () => OK,
    xCurrentTime: guard(IOERR, (_pVfs: WasmPointer, pOut: WasmPointer) => {
      heapWords().setFloat64(pOut, clockMs / MS_PER_DAY + UNIX_EPOCH_JULIAN_DAY, true);
      return OK;
    }),
    xCurrentTimeInt64: guard(IOERR, (_pVfs: WasmPointer, pOut: WasmPointer) => {
      heapWords().setBigInt64(pOut, UNIX_EPOCH_JULIAN_MS + BigInt(clockMs), true);
      return OK;
    }),
    xGetLastError: () => 0,
  };
  // As function table entries made through one wasm module (sqlite/wasm-callbacks.ts), not one each.
  const [io, vfs] = installMethodTables(sqlite3, [
    [signatures(SQLITE3_IO_METHODS), ioCallbacks],
    [signatures(SQLITE3_VFS), vfsCallbacks],
  ]);
  setMethods(sqlite3, ioMethods, SQLITE3_IO_METHODS, io!);
  setMethods(sqlite3, vfsStruct, SQLITE3_VFS, vfs!);
  // These run once per mutation: straight to the wasm exports.
  const raw = sqlite3.exports;
  const registered = raw.sqlite3_vfs_register(vfsStruct, 0);
  if (registered !== OK) throw new Error(`sqlite3_vfs_register failed with ${registered}`);
  const resetPrng = (): void => {
    raw.sqlite3_randomness(0, 0);
    drawn = false;
    counts.resets++;
  };

  return {
    open(name, store, onCommit) {
      if (name === '' || name.startsWith(':') || name.startsWith('file:')) {
        throw new Error(`invalid database name ${JSON.stringify(name)}`);
      }
      if (bindings.has(name)) throw new Error(`database ${JSON.stringify(name)} is already open`);
      const page1 = store.peek(1);
      bindings.set(name, {
        store,
        onCommit,
        generation: store.generation,
        counter: page1 === undefined ? 0 : u32At(page1, CHANGE_COUNTER),
      });
      let db: Database | undefined;
      try {
        db = Database.open(sqlite3, name, CAPTURE_VFS_NAME);
        db.exec(
          'PRAGMA page_size=4096; PRAGMA journal_mode=MEMORY; PRAGMA locking_mode=NORMAL; PRAGMA temp_store=MEMORY;',
        );
        return db;
      } catch (error) {
        db?.close();
        bindings.delete(name);
        throw error;
      }
    },
    setEnvelope(next) {
      if (!Number.isSafeInteger(next.timestampMs))
        throw new RangeError(`invalid envelope timestamp ${next.timestampMs}`);
      clockMs = next.timestampMs;
      envelope = next;
      stream = undefined;
      // Once it made itself the default, this VFS stays it until releaseEnvelopes: what runs meanwhile
      // (the mutations of one transaction, synchronously) registers no VFS. So it asks only then.
      const current = displaced === undefined ? raw.sqlite3_vfs_find(0) : vfsStruct;
      if (current !== vfsStruct) {
        // SQLite reseeds from the default VFS; while another was, its reseeds did not come here.
        displaced = current;
        raw.sqlite3_vfs_register(vfsStruct, 1);
        resetPrng();
      } else if (drawn) {
        resetPrng();
      }
    },
    releaseEnvelopes() {
      if (displaced === undefined) return;
      if (raw.sqlite3_vfs_find(0) === vfsStruct) raw.sqlite3_vfs_register(displaced, 1);
      displaced = undefined;
    },
    entropyCounts: counts,
  };
}

const utf8 = new TextEncoder();
