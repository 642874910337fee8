// JavaScript functions made callable by SQLite (entries of the wasm function table), all of a batch
// through one small wasm module. sqlite-wasm's installFunction (used before Tandem loaded sqlite3.wasm
// itself) compiled and instantiated a module per function it wrapped: a document's open installed 23 (the capture VFS's methods, each connection's
// authorizer and progress handler), ~8 ms of a boot of ~100. Here a module imports every function of the
// batch and SQLite's function table, and an element segment writes the functions into slots the table
// grew by: nothing is exported, so the engine makes no JavaScript-callable wrapper for any of them.
//
// Invariants:
// 1. A function is called with exactly the arguments its signature gives, as installFunction's wrapper
//    calls it: i32 and pointers as numbers, i64 as bigint, f32/f64 as numbers; its result is converted
//    to the signature's result type by the engine.
// 2. Entries are never uninstalled: they are made once per SQLite instance (the VFS, the
//    connection trampolines) and live as long as it.

import type { Sqlite3, WasmPointer } from './wasm-instance.js';

/**
 * A function SQLite calls, with its signature in sqlite-wasm's notation: result letter, then `(params)`
 * (`i` i32, `p` pointer, `s` C string, `j` i64, `f` f32, `d` f64, `v` no result).
 */
export interface Callback {
  readonly signature: string;
  // biome-ignore lint/complexity/noBannedTypes: any function: the engine converts what crosses, per signature
  readonly fn: Function;
}

const I32 = 0x7f;
const I64 = 0x7e;
const F32 = 0x7d;
const F64 = 0x7c;
const FUNCREF = 0x70;
const I32_CONST = 0x41;
const END = 0x0b;
/** The import names: module `e`, the table `t` (the functions are `f0`, `f1`, …). */
const MODULE = [0x65];
const TABLE = [0x74];

/** The wasm function table entries of `callbacks`, in order (invariant 2). */
export function installCallbacks(sqlite3: Sqlite3, callbacks: readonly Callback[]): WasmPointer[] {
  if (callbacks.length === 0) return [];
  const types: number[][] = [];
  const typeOf = new Map<string, number>();
  const imports: number[] = [];
  callbacks.forEach(({ signature }, i) => {
    let type = typeOf.get(signature);
    if (type === undefined) {
      type = types.length;
      types.push(functionType(signature));
      typeOf.set(signature, type);
    }
    imports.push(...vector(MODULE), ...vector([...utf8.encode(`f${i}`)]), 0x00, ...leb(type));
  });
  const table = sqlite3.functionTable;
  const first = table.length;
  table.grow(callbacks.length);
  // The table, imported without a maximum (it is SQLite's, growable), after the functions.
  imports.push(...vector(MODULE), ...vector(TABLE), 0x01, FUNCREF, 0x00, ...leb(0));
  // One active segment into table 0 at `first`: the imported functions 0..n-1, in order.
  const indices = callbacks.flatMap((_, i) => leb(i));
  const segment = [0x00, I32_CONST, ...sleb(first), END, ...leb(callbacks.length), ...indices];
  const module = new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, [...leb(types.length), ...types.flat()]),
    ...section(2, [...leb(callbacks.length + 1), ...imports]),
    ...section(9, [1, ...segment]),
  ]);
  const functions = Object.fromEntries(callbacks.map(({ fn }, i) => [`f${i}`, fn]));
  new WebAssembly.Instance(new WebAssembly.Module(module), { e: { ...functions, t: table } });
  return callbacks.map((_, i) => (first + i) as WasmPointer);
}

const utf8 = new TextEncoder();

/** The type of a signature such as `i(pppij)` (invariant 1). */
function functionType(signature: string): number[] {
  const match = /^([ipPsjfdv])\(([ipPsjfd]*)\)$/.exec(signature);
  if (match === null) throw new Error(`wasm-callbacks: unsupported signature ${signature}`);
  const [, result, params] = match as unknown as [string, string, string];
  const results = result === 'v' ? [] : [valueType(result)];
  return [0x60, ...vector([...params].map(valueType)), ...vector(results)];
}

function valueType(letter: string): number {
  switch (letter) {
    case 'j':
      return I64;
    case 'f':
      return F32;
    case 'd':
      return F64;
    default:
      return I32;
  }
}

function section(id: number, body: number[]): number[] {
  return [id, ...leb(body.length), ...body];
}

function vector(items: number[]): number[] {
  return [...leb(items.length), ...items];
}

/** Signed LEB128 (an i32.const's immediate), for a non-negative `n`. */
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>>= 7;
    if (n === 0 && (byte & 0x40) === 0) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/**
 * Each table's methods as function table entries, by member name, with the signature `signatures` gives
 * each member: one module for all of them.
 */
export function installMethodTables(
  sqlite3: Sqlite3,
  tables: readonly (readonly [
    signatures: Readonly<Record<string, string>>,
    // biome-ignore lint/complexity/noBannedTypes: the struct's members, whatever their signatures
    methods: Readonly<Record<string, Function>>,
  ])[],
): Record<string, WasmPointer>[] {
  const entries = tables.flatMap(([signatures, methods]) =>
    Object.entries(methods).map(([name, fn]) => {
      const signature = signatures[name];
      if (signature === undefined) throw new Error(`wasm-callbacks: no member ${name}`);
      return { name, signature, fn };
    }),
  );
  const pointers = installCallbacks(sqlite3, entries);
  let next = 0;
  return tables.map(([, methods]) =>
    Object.fromEntries(Object.keys(methods).map((name) => [name, pointers[next++]!])),
  );
}
