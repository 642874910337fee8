// The C structs a VFS is made of (sqlite3.h), as sqlite3.wasm lays them out (32-bit pointers): each
// member's byte offset and, for a method, its signature (wasm-callbacks.ts notation). vfs-structs.test.ts
// checks every one against the layout the build itself reports.

import type { Sqlite3, WasmPointer } from '../sqlite/wasm-instance.js';

interface StructLayout {
  readonly sizeof: number;
  /** Byte offsets of the members that are not methods. */
  readonly fields: Readonly<Record<string, number>>;
  /** The methods: offset and signature. */
  readonly methods: Readonly<Record<string, readonly [offset: number, signature: string]>>;
}

export const SQLITE3_VFS = {
  sizeof: 88,
  fields: { iVersion: 0, szOsFile: 4, mxPathname: 8, pNext: 12, zName: 16, pAppData: 20 },
  methods: {
    xOpen: [24, 'i(pppip)'],
    xDelete: [28, 'i(ppi)'],
    xAccess: [32, 'i(ppip)'],
    xFullPathname: [36, 'i(ppip)'],
    xDlOpen: [40, 'v(pp)'],
    xDlError: [44, 'v(pip)'],
    xDlSym: [48, 'p()'],
    xDlClose: [52, 'v(pp)'],
    xRandomness: [56, 'i(pip)'],
    xSleep: [60, 'i(pi)'],
    xCurrentTime: [64, 'i(pp)'],
    xGetLastError: [68, 'i(pip)'],
    xCurrentTimeInt64: [72, 'i(pp)'],
    xSetSystemCall: [76, 'i(ppp)'],
    xGetSystemCall: [80, 'p(pp)'],
    xNextSystemCall: [84, 'p(pp)'],
  },
} as const satisfies StructLayout;

export const SQLITE3_IO_METHODS = {
  sizeof: 76,
  fields: { iVersion: 0 },
  methods: {
    xClose: [4, 'i(p)'],
    xRead: [8, 'i(ppij)'],
    xWrite: [12, 'i(ppij)'],
    xTruncate: [16, 'i(pj)'],
    xSync: [20, 'i(pi)'],
    xFileSize: [24, 'i(pp)'],
    xLock: [28, 'i(pi)'],
    xUnlock: [32, 'i(pi)'],
    xCheckReservedLock: [36, 'i(pp)'],
    xFileControl: [40, 'i(pip)'],
    xSectorSize: [44, 'i(p)'],
    xDeviceCharacteristics: [48, 'i(p)'],
    xShmMap: [52, 'i(piiip)'],
    xShmLock: [56, 'i(piii)'],
    xShmBarrier: [60, 'v(p)'],
    xShmUnmap: [64, 'i(pi)'],
    xFetch: [68, 'i(pjip)'],
    xUnfetch: [72, 'i(pjp)'],
  },
} as const satisfies StructLayout;

export const SQLITE3_FILE = {
  sizeof: 4,
  fields: { pMethods: 0 },
  methods: {},
} as const satisfies StructLayout;

/** A layout's method signatures by name, as installMethodTables takes them. */
export function signatures(layout: StructLayout): Record<string, string> {
  return Object.fromEntries(Object.entries(layout.methods).map(([name, [, signature]]) => [name, signature]));
}

/**
 * A new `layout` struct from SQLite's allocator, zeroed: the methods never set stay NULL, which SQLite
 * checks for before calling one.
 */
export function allocStruct(sqlite3: Sqlite3, layout: StructLayout): WasmPointer {
  const pointer = sqlite3.alloc(layout.sizeof);
  sqlite3.heap8u().fill(0, pointer, pointer + layout.sizeof);
  return pointer;
}

/** Writes each method's function table entry (`pointers`, by name) into `struct` at its offset. */
export function setMethods(
  sqlite3: Sqlite3,
  struct: WasmPointer,
  layout: StructLayout,
  pointers: Readonly<Record<string, WasmPointer>>,
): void {
  const words = new DataView(sqlite3.heap8u().buffer);
  for (const [name, pointer] of Object.entries(pointers)) {
    const method = layout.methods[name];
    if (method === undefined) throw new Error(`no method ${name} in this struct`);
    words.setInt32(struct + method[0], pointer, true);
  }
}
