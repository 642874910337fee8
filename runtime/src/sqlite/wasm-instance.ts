// sqlite3.wasm (the build @sqlite.org/sqlite-wasm ships) instantiated by Tandem itself, without the
// library's JavaScript: its Emscripten runtime and API bootstrap took 40–60 ms of a Node boot of ~115
// (and importing its 656 KB of JS another ~20), for an API Tandem does not call: the runtime calls the
// C functions the module exports, and makes its callbacks function table entries itself
// (wasm-callbacks.ts).
//
// Invariants:
// 1. The module gets exactly the imports it declares (Emscripten's and WASI's), each doing what the
//    Emscripten runtime did for what SQLite asks of it: the heap grows by Emscripten's rule (invariant 2),
//    the clock and the local time zone are the platform's. SQLite reaches files only through its default
//    VFS (unix-none), which Tandem never opens a database with (its databases are on the capture VFS or
//    `:memory:`): every file system call fails (ENOSYS), except reading /dev/urandom, which that VFS's
//    xRandomness reads to seed SQLite's PRNG when it is the default; it reads crypto.getRandomValues, as
//    Emscripten's /dev/urandom did. (Under an envelope the capture VFS is the default and seeds it.)
// 2. Memory starts at 8 MiB with a 2 GiB maximum and grows as emscripten_resize_heap grew it (20% over
//    the request, at most 96 MiB over): SQLite's allocations see the heap sizes they saw under
//    sqlite-wasm.
// 3. `heap8u()` is a view of the memory as it is now: growing the memory detaches the old buffer, so a
//    view taken before a call into SQLite may be stale after it (take it again).
// 4. `sqlite3_initialize` has run, once, before the instance is handed out.

/** An address in the module's memory. */
export type WasmPointer = number;

/** The C functions Tandem calls, as the module exports them (pointers as numbers, int64 as bigint). */
export interface SqliteExports {
  sqlite3_initialize(): number;
  sqlite3_malloc(bytes: number): WasmPointer;
  sqlite3_free(pointer: WasmPointer): void;
  sqlite3_open_v2(filename: WasmPointer, ppDb: WasmPointer, flags: number, vfs: WasmPointer): number;
  sqlite3_close_v2(db: WasmPointer): number;
  sqlite3_extended_result_codes(db: WasmPointer, onoff: number): number;
  sqlite3_exec(
    db: WasmPointer,
    sql: WasmPointer,
    callback: WasmPointer,
    arg: WasmPointer,
    errmsg: WasmPointer,
  ): number;
  sqlite3_errmsg(db: WasmPointer): WasmPointer;
  sqlite3_prepare_v3(
    db: WasmPointer,
    sql: WasmPointer,
    bytes: number,
    flags: number,
    ppStmt: WasmPointer,
    pzTail: WasmPointer,
  ): number;
  sqlite3_finalize(stmt: WasmPointer): number;
  sqlite3_step(stmt: WasmPointer): number;
  sqlite3_reset(stmt: WasmPointer): number;
  sqlite3_clear_bindings(stmt: WasmPointer): number;
  sqlite3_bind_parameter_count(stmt: WasmPointer): number;
  sqlite3_bind_null(stmt: WasmPointer, index: number): number;
  sqlite3_bind_int64(stmt: WasmPointer, index: number, value: bigint): number;
  sqlite3_bind_double(stmt: WasmPointer, index: number, value: number): number;
  sqlite3_bind_text(
    stmt: WasmPointer,
    index: number,
    text: WasmPointer,
    length: number,
    free: WasmPointer,
  ): number;
  sqlite3_bind_blob(
    stmt: WasmPointer,
    index: number,
    blob: WasmPointer,
    length: number,
    free: WasmPointer,
  ): number;
  sqlite3_bind_zeroblob(stmt: WasmPointer, index: number, length: number): number;
  sqlite3_column_count(stmt: WasmPointer): number;
  sqlite3_column_name(stmt: WasmPointer, column: number): WasmPointer;
  sqlite3_column_type(stmt: WasmPointer, column: number): number;
  sqlite3_column_int64(stmt: WasmPointer, column: number): bigint;
  sqlite3_column_double(stmt: WasmPointer, column: number): number;
  sqlite3_column_text(stmt: WasmPointer, column: number): WasmPointer;
  sqlite3_column_blob(stmt: WasmPointer, column: number): WasmPointer;
  sqlite3_column_bytes(stmt: WasmPointer, column: number): number;
  sqlite3_changes64(db: WasmPointer): bigint;
  sqlite3_total_changes(db: WasmPointer): number;
  sqlite3_stmt_status(stmt: WasmPointer, op: number, reset: number): number;
  sqlite3_get_autocommit(db: WasmPointer): number;
  sqlite3_limit(db: WasmPointer, id: number, value: number): number;
  sqlite3_stmt_readonly(stmt: WasmPointer): number;
  sqlite3_set_authorizer(db: WasmPointer, callback: WasmPointer, context: WasmPointer): number;
  sqlite3_progress_handler(db: WasmPointer, steps: number, callback: WasmPointer, context: WasmPointer): void;
  sqlite3_randomness(n: number, pBuf: WasmPointer): void;
  sqlite3_vfs_find(zName: WasmPointer): WasmPointer;
  sqlite3_vfs_register(pVfs: WasmPointer, makeDefault: number): number;
}

/** SQLite in this realm's instance of sqlite3.wasm. */
export interface Sqlite3 {
  /** The C API: the module's exports. */
  readonly exports: SqliteExports;
  /** The whole memory as bytes, current (invariant 3). */
  heap8u(): Uint8Array;
  /** SQLite's function table (callbacks are entries of it). */
  readonly functionTable: WebAssembly.Table;
  /** sqlite3_malloc that throws when SQLite is out of memory. */
  alloc(bytes: number): WasmPointer;
  /** sqlite3_free. */
  dealloc(pointer: WasmPointer): void;
  /** `text` as a NUL-terminated UTF-8 copy from `alloc`, and its length in bytes (without the NUL). */
  allocCString(text: string): [pointer: WasmPointer, length: number];
  /** The NUL-terminated UTF-8 string at `pointer`; null for NULL. */
  cString(pointer: WasmPointer): string | null;
}

const WASM_PAGE = 65_536;
const INITIAL_MEMORY = 8 * 1024 * 1024;
const MAX_HEAP = 2 ** 31;
/** emscripten_resize_heap's cap on overgrowth (invariant 2). */
const MAX_OVERGROWTH = 96 * 1024 * 1024;
/** errno values: Emscripten's syscalls return them negated, WASI's functions as they are. */
const ENOSYS = 52;
const EBADF = 8;
/** The one file descriptor there is: /dev/urandom (invariant 1). */
const URANDOM_FD = 3;
const CLOCK_REALTIME = 0;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** Instantiates `module` (sqlite3.wasm) and initializes SQLite (invariant 4). */
export async function instantiateSqlite(module: WebAssembly.Module): Promise<Sqlite3> {
  const memory = new WebAssembly.Memory({
    initial: INITIAL_MEMORY / WASM_PAGE,
    maximum: MAX_HEAP / WASM_PAGE,
  });
  let heap = new Uint8Array(memory.buffer);
  const heap8u = (): Uint8Array => {
    if (heap.byteLength === 0) heap = new Uint8Array(memory.buffer);
    return heap;
  };
  let words = new DataView(memory.buffer);
  const view = (): DataView => {
    // A detached buffer's byteLength is 0 (a DataView over it throws on any access, its own too).
    if (words.buffer.byteLength === 0) words = new DataView(memory.buffer);
    return words;
  };
  const cString = (pointer: WasmPointer): string | null => {
    if (!pointer) return null;
    const bytes = heap8u();
    return utf8Decoder.decode(bytes.subarray(pointer, bytes.indexOf(0, pointer)));
  };
  const imports = emscriptenImports(memory, view, cString);
  const instance = await WebAssembly.instantiate(module, imports);
  const raw = instance.exports as unknown as SqliteExports & {
    __wasm_call_ctors(): void;
    __indirect_function_table: WebAssembly.Table;
  };
  raw.__wasm_call_ctors();
  const rc = raw.sqlite3_initialize();
  if (rc !== 0) throw new Error(`sqlite3_initialize failed with ${rc}`);
  const alloc = (bytes: number): WasmPointer => {
    const pointer = raw.sqlite3_malloc(bytes);
    if (pointer === 0) throw new Error(`SQLite is out of memory: ${bytes} bytes asked`);
    return pointer;
  };
  return {
    exports: raw,
    heap8u,
    functionTable: raw.__indirect_function_table,
    alloc,
    dealloc: (pointer) => raw.sqlite3_free(pointer),
    allocCString(text) {
      const bytes = utf8Encoder.encode(text);
      const pointer = alloc(bytes.length + 1);
      const into = heap8u();
      into.set(bytes, pointer);
      into[pointer + bytes.length] = 0;
      return [pointer, bytes.length];
    },
    cString,
  };
}

type Import = (...args: never[]) => number | bigint | undefined;

/** What the module imports (invariant 1), over `memory`. */
function emscriptenImports(
  memory: WebAssembly.Memory,
  view: () => DataView,
  cString: (pointer: WasmPointer) => string | null,
): WebAssembly.Imports {
  const growTo = (size: number): boolean => {
    try {
      memory.grow(((size - memory.buffer.byteLength + WASM_PAGE - 1) / WASM_PAGE) | 0);
      return true;
    } catch {
      return false;
    }
  };
  const failing = (): number => -ENOSYS;
  const env: Record<string, Import | WebAssembly.Memory> = {
    memory,
    emscripten_date_now: () => Date.now(),
    emscripten_get_now: () => performance.now(),
    emscripten_get_heap_max: () => MAX_HEAP,
    emscripten_resize_heap: (requested: number) => {
      const size = requested >>> 0;
      const old = memory.buffer.byteLength;
      if (size > MAX_HEAP) return 0;
      for (let cutDown = 1; cutDown <= 4; cutDown *= 2) {
        const overGrown = Math.min(old * (1 + 0.2 / cutDown), size + MAX_OVERGROWTH);
        const target = Math.ceil(Math.max(size, overGrown) / WASM_PAGE) * WASM_PAGE;
        if (growTo(Math.min(MAX_HEAP, target))) return 1;
      }
      return 0;
    },
    _tzset_js: (timezone: number, daylight: number, stdName: number, dstName: number) => {
      const year = new Date().getFullYear();
      const winter = new Date(year, 0, 1).getTimezoneOffset();
      const summer = new Date(year, 6, 1).getTimezoneOffset();
      const words = view();
      words.setUint32(timezone, Math.max(winter, summer) * 60, true);
      words.setInt32(daylight, Number(winter !== summer), true);
      const zone = (offset: number): string => {
        const minutes = Math.abs(offset);
        const hh = String(Math.floor(minutes / 60)).padStart(2, '0');
        return `UTC${offset >= 0 ? '-' : '+'}${hh}${String(minutes % 60).padStart(2, '0')}`;
      };
      const [std, dst] = summer < winter ? [zone(winter), zone(summer)] : [zone(summer), zone(winter)];
      const heap = new Uint8Array(memory.buffer);
      for (const [at, name] of [
        [stdName, std],
        [dstName, dst],
      ] as const) {
        const { written = 0 } = utf8Encoder.encodeInto(name, heap.subarray(at, at + 16));
        heap[at + written] = 0;
      }
      return undefined;
    },
    _localtime_js: (time: bigint, tm: number) => {
      const date = new Date(Number(time) * 1000);
      const words = view();
      const year = date.getFullYear();
      const january = new Date(year, 0, 1);
      const summer = new Date(year, 6, 1).getTimezoneOffset();
      const winter = january.getTimezoneOffset();
      const yday = Math.round(
        (new Date(year, date.getMonth(), date.getDate()).getTime() - january.getTime()) / 86_400_000,
      );
      const fields = [
        date.getSeconds(),
        date.getMinutes(),
        date.getHours(),
        date.getDate(),
        date.getMonth(),
        year - 1900,
        date.getDay(),
        yday,
        Number(summer !== winter && date.getTimezoneOffset() === Math.min(winter, summer)),
        -date.getTimezoneOffset() * 60,
      ];
      for (const [i, value] of fields.entries()) words.setInt32(tm + 4 * i, value, true);
      return undefined;
    },
    _mmap_js: failing,
    _munmap_js: failing,
    __syscall_openat: (_dirfd: number, path: number) =>
      cString(path) === '/dev/urandom' ? URANDOM_FD : -ENOSYS,
  };
  const wasi: Record<string, Import> = {
    clock_time_get: (clock: number, _precision: bigint, out: number) => {
      const ms = clock === CLOCK_REALTIME ? Date.now() : performance.now();
      view().setBigUint64(out, BigInt(Math.round(ms * 1e6)), true);
      return 0;
    },
    environ_sizes_get: (count: number, size: number) => {
      view().setUint32(count, 0, true);
      view().setUint32(size, 0, true);
      return 0;
    },
    environ_get: () => 0,
    fd_read: (fd: number, iovs: number, iovCount: number, read: number) => {
      if (fd !== URANDOM_FD) return EBADF;
      let total = 0;
      for (let i = 0; i < iovCount; i++) {
        const words = view();
        const pointer = words.getUint32(iovs + 8 * i, true);
        const length = words.getUint32(iovs + 8 * i + 4, true);
        // getRandomValues fills at most 64 KiB at a time.
        for (let at = 0; at < length; at += WASM_PAGE) {
          crypto.getRandomValues(
            new Uint8Array(memory.buffer, pointer + at, Math.min(WASM_PAGE, length - at)),
          );
        }
        total += length;
      }
      view().setUint32(read, total, true);
      return 0;
    },
    fd_close: (fd: number) => (fd === URANDOM_FD ? 0 : EBADF),
  };
  // Everything else the module declares fails: SQLite sees an error from the file system (invariant 1).
  return {
    env: new Proxy(env, { get: (target, name: string) => target[name] ?? failing }),
    wasi_snapshot_preview1: new Proxy(wasi, {
      get: (target, name: string) => target[name] ?? (() => ENOSYS),
    }),
  } as WebAssembly.Imports;
}
