// Test-only: reducer components built from hand-written WAT with jco's wasm-tools (as `tandem build`
// does with asc output), and raw component binaries wrapped around arbitrary core modules (what a
// hostile producer could hand us, which wit-component itself would refuse to make).

import { componentEmbed, componentNew, parse } from '@bytecodealliance/jco';

// Read without a static node: import: runtime's sources are typed without Node's types.
const fs = (await import('node:fs/promises' as string)) as {
  readFile(path: URL, encoding: 'utf8'): Promise<string>;
};

export const WIT = await fs.readFile(
  new URL('../../../reducer-sdk/wit/reducer.wit', import.meta.url),
  'utf8',
);

export function coreModule(wat: string): Promise<Uint8Array> {
  return parse(wat);
}

/** A component made from a WAT core module the way `tandem build` makes one (embed + new). */
export async function component(wat: string, witSource = WIT): Promise<Uint8Array> {
  const embedded = await componentEmbed({ binary: await parse(wat), witSource, world: 'reducer' });
  return componentNew(embedded);
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

/** A component binary holding the given sections (id, body) and nothing else. */
export function rawComponent(...sections: readonly [number, Uint8Array][]): Uint8Array {
  const bytes = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];
  for (const [id, body] of sections) bytes.push(id, ...leb(body.length), ...body);
  return new Uint8Array(bytes);
}

/** Every import and export a reducer can have, legacy names. */
export const IMPORTS_ALL = `
  (import "tandem:reducer/sql@0.2.0" "execute" (func $execute (param i32 i32 i32 i32 i32)))
  (import "tandem:reducer/sql@0.2.0" "execute-batch" (func $execute_batch (param i32 i32 i32 i32 i32)))
  (import "tandem:reducer/sql@0.2.0" "query" (func $query (param i32 i32 i32 i32 i32)))
  (import "tandem:reducer/env@0.2.0" "log" (func $log (param i32 i32 i32)))
  (import "tandem:reducer/env@0.2.0" "enter" (func $enter (param i32)))
  (import "tandem:reducer/env@0.2.0" "now" (func $now (result i64)))
  (import "tandem:reducer/env@0.2.0" "random" (func $random (result i64)))`;

/** A bump allocator that grows memory as needed (never frees). */
export const REALLOC = `
  (global $bump (mut i32) (i32.const 1024))
  (func $realloc (export "cabi_realloc") (param $old i32) (param $oldSize i32) (param $align i32) (param $size i32) (result i32)
    (local $p i32) (local $end i32)
    (local.set $p (i32.and (i32.add (global.get $bump) (i32.sub (local.get $align) (i32.const 1)))
                           (i32.sub (i32.const 0) (local.get $align))))
    (local.set $end (i32.add (local.get $p) (local.get $size)))
    (block $ok
      (loop $grow
        (br_if $ok (i32.le_u (local.get $end) (i32.mul (memory.size) (i32.const 65536))))
        (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1)) (then unreachable))
        (br $grow)))
    (global.set $bump (local.get $end))
    (local.get $p))`;

/**
 * A guest that implements the whole world. `schema-version` is 100 + the number of post-return calls
 * so far. `migrate(0)` is ok, any other version err("no migration from here"). `reduce` calls
 * `enter(i)` per mutation, then acts on the payload's first byte:
 *   q  query("SELECT ?", [integer lsn]) → err(first cell of the first row), or err(the query's error)
 *   b  execute-batch(INSERT, [[text payload], [text payload]]) → ok, or err(its error)
 *   n  execute(INSERT, [integer now(), integer random()]) → ok, or err(its error)
 *   l  log(level = payload[1] - '0', payload[2..]) → ok
 *   k  execute(INSERT, [text payload]) → ok, or err(the 4 bytes of its error's s32 code)
 *   g  allocates 200 KB (memory grows), then as the default
 *   t  traps (unreachable)
 *   s  execute with a SQL pointer outside memory
 *   x  ok, but reduce returns a list pointer outside memory
 *   w  ok, but reduce returns one outcome fewer than the batch
 *   else execute(INSERT, [text payload]) → err(its error), else ok at even indexes and err("odd") at odd ones
 * Its post-return scribbles over the outcome list, so results must be lifted before it runs.
 */
export const FULL_GUEST = `(module ${IMPORTS_ALL}
  (memory (export "memory") 1)
  (global $posts (mut i32) (i32.const 0))
  (global $bogus (mut i32) (i32.const 0))
  (data (i32.const 256) "INSERT INTO t VALUES (?)")
  (data (i32.const 288) "SELECT ?")
  (data (i32.const 304) "odd")
  (data (i32.const 320) "no migration from here")
  ${REALLOC}
  (func (export "schema-version") (result i32) (i32.add (i32.const 100) (global.get $posts)))
  (func (export "migrate") (param $from i32) (result i32)
    (if (i32.eqz (local.get $from)) (then (i32.store8 (i32.const 16) (i32.const 0)) (return (i32.const 16))))
    (i32.store8 (i32.const 16) (i32.const 1))
    (i32.store (i32.const 20) (i32.const 320))
    (i32.store (i32.const 24) (i32.const 22))
    (i32.const 16))
  (func (export "cabi_post_migrate") (param i32))
  (func $text (param $at i32) (param $ptr i32) (param $len i32)
    (i32.store8 (local.get $at) (i32.const 3))
    (i32.store (i32.add (local.get $at) (i32.const 8)) (local.get $ptr))
    (i32.store (i32.add (local.get $at) (i32.const 12)) (local.get $len)))
  (func $int (param $at i32) (param $v i64)
    (i32.store8 (local.get $at) (i32.const 1))
    (i64.store (i32.add (local.get $at) (i32.const 8)) (local.get $v)))
  (func $err (param $out i32) (param $ptr i32) (param $len i32)
    (i32.store8 (local.get $out) (i32.const 1))
    (i32.store (i32.add (local.get $out) (i32.const 4)) (local.get $ptr))
    (i32.store (i32.add (local.get $out) (i32.const 8)) (local.get $len)))
  ;; Copies the SQL call's result (return area at 48, payload at 48 + $payload) into outcome $out: an
  ;; err's message (after its s32 code, which goes to 72); returns 1 when it was ok.
  (func $outcome (param $out i32) (param $payload i32) (result i32)
    (if (i32.eqz (i32.load8_u (i32.const 48)))
      (then (i32.store8 (local.get $out) (i32.const 0)) (return (i32.const 1))))
    (i32.store (i32.const 72) (i32.load (i32.add (i32.const 48) (local.get $payload))))
    (call $err (local.get $out)
      (i32.load (i32.add (i32.const 52) (local.get $payload)))
      (i32.load (i32.add (i32.const 56) (local.get $payload))))
    (i32.const 0))
  (func (export "reduce") (param $list i32) (param $len i32) (result i32)
    (local $i i32) (local $m i32) (local $out i32) (local $outs i32) (local $pp i32) (local $pl i32)
    (local $mode i32) (local $count i32) (local $row i32)
    (local.set $outs (call $realloc (i32.const 0) (i32.const 0) (i32.const 4) (i32.mul (local.get $len) (i32.const 12))))
    (local.set $count (local.get $len))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (call $enter (local.get $i))
        (local.set $m (i32.add (local.get $list) (i32.mul (local.get $i) (i32.const 32))))
        (local.set $out (i32.add (local.get $outs) (i32.mul (local.get $i) (i32.const 12))))
        (local.set $pp (i32.load (i32.add (local.get $m) (i32.const 24))))
        (local.set $pl (i32.load (i32.add (local.get $m) (i32.const 28))))
        (local.set $mode (if (result i32) (local.get $pl) (then (i32.load8_u (local.get $pp))) (else (i32.const 0))))
        (block $next
          (if (i32.eq (local.get $mode) (i32.const 0x74)) (then unreachable))
          (if (i32.eq (local.get $mode) (i32.const 0x71))
            (then
              (call $int (i32.const 80) (i64.load (i32.add (local.get $m) (i32.const 8))))
              (call $query (i32.const 288) (i32.const 8) (i32.const 80) (i32.const 1) (i32.const 48))
              (br_if $next (i32.eqz (call $outcome (local.get $out) (i32.const 4))))
              ;; rows at 60: the first row's values list, its first value's string
              (local.set $row (i32.load (i32.load (i32.const 60))))
              (call $err (local.get $out)
                (i32.load (i32.add (local.get $row) (i32.const 8)))
                (i32.load (i32.add (local.get $row) (i32.const 12))))
              (br $next)))
          (if (i32.eq (local.get $mode) (i32.const 0x62))
            (then
              (call $text (i32.const 80) (local.get $pp) (local.get $pl))
              (i32.store (i32.const 112) (i32.const 80))
              (i32.store (i32.const 116) (i32.const 1))
              (i32.store (i32.const 120) (i32.const 80))
              (i32.store (i32.const 124) (i32.const 1))
              (call $execute_batch (i32.const 256) (i32.const 24) (i32.const 112) (i32.const 2) (i32.const 48))
              (drop (call $outcome (local.get $out) (i32.const 8)))
              (br $next)))
          (if (i32.eq (local.get $mode) (i32.const 0x6e))
            (then
              (call $int (i32.const 80) (call $now))
              (call $int (i32.const 96) (call $random))
              (call $execute (i32.const 256) (i32.const 24) (i32.const 80) (i32.const 2) (i32.const 48))
              (drop (call $outcome (local.get $out) (i32.const 8)))
              (br $next)))
          (if (i32.eq (local.get $mode) (i32.const 0x6c))
            (then
              (call $log (i32.sub (i32.load8_u (i32.add (local.get $pp) (i32.const 1))) (i32.const 0x30))
                (i32.add (local.get $pp) (i32.const 2)) (i32.sub (local.get $pl) (i32.const 2)))
              (i32.store8 (local.get $out) (i32.const 0))
              (br $next)))
          (if (i32.eq (local.get $mode) (i32.const 0x73))
            (then
              (call $execute (i32.const -256) (i32.const 24) (i32.const 80) (i32.const 0) (i32.const 48))
              (br $next)))
          (if (i32.eq (local.get $mode) (i32.const 0x78))
            (then (global.set $bogus (i32.const 1)) (i32.store8 (local.get $out) (i32.const 0)) (br $next)))
          (if (i32.eq (local.get $mode) (i32.const 0x77))
            (then (local.set $count (i32.sub (local.get $len) (i32.const 1))) (i32.store8 (local.get $out) (i32.const 0)) (br $next)))
          (if (i32.eq (local.get $mode) (i32.const 0x6b))
            (then
              (call $text (i32.const 80) (local.get $pp) (local.get $pl))
              (call $execute (i32.const 256) (i32.const 24) (i32.const 80) (i32.const 1) (i32.const 48))
              (br_if $next (call $outcome (local.get $out) (i32.const 8)))
              (call $err (local.get $out) (i32.const 72) (i32.const 4))
              (br $next)))
          (if (i32.eq (local.get $mode) (i32.const 0x67))
            (then (drop (call $realloc (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 200000)))))
          (call $text (i32.const 80) (local.get $pp) (local.get $pl))
          (call $execute (i32.const 256) (i32.const 24) (i32.const 80) (i32.const 1) (i32.const 48))
          (br_if $next (i32.eqz (call $outcome (local.get $out) (i32.const 8))))
          (if (i32.and (local.get $i) (i32.const 1)) (then (call $err (local.get $out) (i32.const 304) (i32.const 3)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))
    (i32.store (i32.const 32) (if (result i32) (global.get $bogus) (then (i32.const -16)) (else (local.get $outs))))
    (i32.store (i32.const 36) (local.get $count))
    (global.set $bogus (i32.const 0))
    (i32.const 32))
  (func (export "cabi_post_reduce") (param $ret i32)
    (global.set $posts (i32.add (global.get $posts) (i32.const 1)))
    (memory.fill (i32.load (local.get $ret)) (i32.const 0xff) (i32.mul (i32.load (i32.add (local.get $ret) (i32.const 4))) (i32.const 12))))
)`;

/** The smallest reducer: no imports, `reduce` accepts everything. Optional extra module fields. */
export function minimalGuest(extra = '', exportsPrefix = ''): string {
  const p = exportsPrefix;
  return `(module ${extra}
  (memory (export "${p === '' ? 'memory' : 'cm32p2_memory'}") 1)
  (global $bump (mut i32) (i32.const 1024))
  (func (export "${p === '' ? 'cabi_realloc' : 'cm32p2_realloc'}") (param i32 i32 i32 i32) (result i32) (local $p i32)
    (local.set $p (i32.and (i32.add (global.get $bump) (i32.const 7)) (i32.const -8)))
    (global.set $bump (i32.add (local.get $p) (local.get 3)))
    (local.get $p))
  (func (export "${p}schema-version") (result i32) (i32.const 1))
  (func (export "${p}migrate") (param i32) (result i32) (i32.store8 (i32.const 16) (i32.const 0)) (i32.const 16))
  (func (export "${p}reduce") (param $list i32) (param $len i32) (result i32)
    (i32.store (i32.const 32) (i32.const 512))
    (i32.store (i32.const 36) (local.get $len))
    (memory.fill (i32.const 512) (i32.const 0) (i32.mul (local.get $len) (i32.const 12)))
    (i32.const 32))
)`;
}

/**
 * A guest that runs each mutation's payload as SQL: enter(i), execute(payload) → ok, or err(the
 * execute error); then enter(batch length).
 */
export const SQL_GUEST = `(module
  (import "tandem:reducer/sql@0.2.0" "execute" (func $execute (param i32 i32 i32 i32 i32)))
  (import "tandem:reducer/env@0.2.0" "enter" (func $enter (param i32)))
  (memory (export "memory") 1)
  ${REALLOC}
  (func (export "schema-version") (result i32) (i32.const 1))
  (func (export "migrate") (param i32) (result i32) (i32.store8 (i32.const 16) (i32.const 0)) (i32.const 16))
  (func (export "reduce") (param $list i32) (param $len i32) (result i32)
    (local $i i32) (local $m i32) (local $out i32) (local $outs i32) (local $ret i32)
    (local.set $outs (call $realloc (i32.const 0) (i32.const 0) (i32.const 4) (i32.mul (local.get $len) (i32.const 12))))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (call $enter (local.get $i))
        (local.set $m (i32.add (local.get $list) (i32.mul (local.get $i) (i32.const 32))))
        (local.set $ret (call $realloc (i32.const 0) (i32.const 0) (i32.const 8) (i32.const 24)))
        (call $execute (i32.load offset=24 (local.get $m)) (i32.load offset=28 (local.get $m))
          (i32.const 0) (i32.const 0) (local.get $ret))
        (local.set $out (i32.add (local.get $outs) (i32.mul (local.get $i) (i32.const 12))))
        (i32.store8 (local.get $out) (i32.load8_u (local.get $ret)))
        ;; result<u64, sql-error>: the error's message (after its s32 code) is the rejection reason.
        (i32.store offset=4 (local.get $out) (i32.load offset=12 (local.get $ret)))
        (i32.store offset=8 (local.get $out) (i32.load offset=16 (local.get $ret)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))
    (call $enter (local.get $len))
    (i32.store (i32.const 32) (local.get $outs))
    (i32.store (i32.const 36) (local.get $len))
    (i32.const 32))
)`;
