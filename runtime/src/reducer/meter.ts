// Fuel and memory metering, added to a reducer's main core module once, when it is prepared
// (prepare.ts, binaryen.js), so that a runaway guest stops after the same amount of work on every host.
// Only Node-side code imports this module (the coordinator, host-node, the CLI): browsers run the
// prepared module the coordinator serves and never load binaryen.
//
// Invariants:
// 1. Every function entry and every loop iteration subtracts one from the imported mutable i64 global
//    `tandem:meter.fuel`; when it goes below zero the guest traps at once. Straight-line code between
//    two charges is bounded by the module's size, so fuel bounds execution. The host owns the global, so
//    it can give the start function a budget before the instance exists. A bulk memory instruction
//    (memory.copy, memory.fill, memory.init) moves up to 4 GiB in one instruction, so it first pays
//    one more unit per BULK_BYTES_PER_FUEL bytes of its size operand, read at run time (the operand
//    goes through a helper's parameter, so it is evaluated once, where it always was).
// 2. Every memory.grow first checks the size it asks for against the memory limit: past it, the
//    exported i32 global `tandem_memory_exceeded` becomes 1 and the guest traps. The memory's declared
//    maximum is clamped to the limit as well.
// 3. The walker knows every expression kind it lets through and refuses any other at load
//    (`forbidden-instruction`), so nothing runs unmetered (no threads: atomics are refused here too).
// 4. The call stack is metered in estimated bytes: each function adds its frame's estimate (from its
//    locals and a bound on its operand stack's height, both of which an engine may spill to its
//    stack across a call) to an i32 global on entry and takes it back on every exit (its end, and each `return`,
//    rewritten as a branch to the end). Past `maxStackBytes` the exported global
//    `tandem_stack_exceeded` becomes 1 and the guest traps, long before any engine's own stack runs
//    out, so the depth at which recursion stops is the same everywhere. Tail calls are refused.
// 5. Expressions nest at most MAX_NESTING deep; a deeper module is refused at load (`too-deep`), before
//    binaryen's recursive writer could overflow the thread's stack, so whether a module loads never
//    depends on the host's stack size.
// 6. The output depends only on the input bytes, the memory and stack limits and METER_VERSION
//    (meter-abi.ts), all recorded in the prepared reducer (prepared.ts), so every host that prepares
//    the same component gets the same bytes.

import type binaryenNs from 'binaryen';
import { concatBytes } from '../bytes.js';
import { BinaryReader } from './binary-reader.js';
import { CORE_PREAMBLE } from './core-module.js';
import { ReducerLoadError } from './errors.js';
import { FUEL_IMPORT, MEMORY_EXCEEDED_EXPORT, METER_MODULE, STACK_EXCEEDED_EXPORT } from './meter-abi.js';

type Binaryen = typeof binaryenNs;
type Module = InstanceType<Binaryen['Module']>;
type ExpressionRef = number;

const FUEL = 'tandem_fuel';
const MEMORY_EXCEEDED = 'tandem_memory_exceeded';
const GROW_CHECK = 'tandem_grow_check';
const STACK = 'tandem_stack';
const STACK_EXCEEDED = 'tandem_stack_exceeded';
const EXIT = 'tandem_exit';
const BULK_CHARGE = 'tandem_bulk_charge';

/**
 * Bytes a bulk memory instruction moves per unit of fuel: about what a loop iteration costs on the
 * engines we run on (a 64-byte copy and a short loop iteration both take a few nanoseconds).
 */
export const BULK_BYTES_PER_FUEL = 64;
const BULK_SHIFT = Math.log2(BULK_BYTES_PER_FUEL);

/** The deepest expression nesting a module may have (invariant 5); compilers stay far below it. */
export const MAX_NESTING = 1024;

/**
 * A frame's estimated size: twice what V8's baseline compiler spills per value slot (8 bytes) for
 * each local and each operand the function may hold on its stack (`maxOperands`), plus a fixed part
 * for the return address, frame pointer and the meter's own operands.
 */
export function frameBytes(locals: number, maxOperands = 0): number {
  return 96 + 16 * (locals + maxOperands);
}
const WASM_PAGE = 65_536;

/** The binaryen.js accessors used here that its typings leave out. */
interface ExpressionClasses {
  readonly Loop: { setBody(loop: ExpressionRef, body: ExpressionRef): void };
  readonly MemoryGrow: { setDelta(grow: ExpressionRef, delta: ExpressionRef): void };
  readonly MemoryCopy: { setSize(copy: ExpressionRef, size: ExpressionRef): void };
  readonly MemoryFill: { setSize(fill: ExpressionRef, size: ExpressionRef): void };
  readonly MemoryInit: { setSize(init: ExpressionRef, size: ExpressionRef): void };
  readonly Function: { setBody(func: number, body: ExpressionRef): void };
}

/** Where an expression hangs: the field of its parent (and the index, in a list field). */
interface Slot {
  readonly parent: ExpressionRef;
  readonly field: string;
  readonly index: number | undefined;
}

let binaryenLoad: Promise<Binaryen> | undefined;

/** binaryen.js is large (13 MB): loaded on the first reducer that needs instrumenting, not before. */
function loadBinaryen(): Promise<Binaryen> {
  binaryenLoad ??= import('binaryen').then((m) => m.default);
  return binaryenLoad;
}

/**
 * Returns the metered module: fuel charged at function entries and loop headers, memory growth
 * checked against `maxMemoryPages`. `core` must already be a valid module (WebAssembly.validate).
 */
export async function meterCoreModule(
  core: Uint8Array,
  maxMemoryPages: number,
  maxStackBytes: number,
): Promise<Uint8Array> {
  const prepared = clampMemory(withoutCustomSections(core), maxMemoryPages);
  const binaryen = await loadBinaryen();
  let module: Module;
  try {
    module = binaryen.readBinary(prepared);
  } catch (error) {
    throw new ReducerLoadError(
      'malformed',
      `the instrumenter cannot read the core module: ${messageOf(error)}`,
    );
  }
  try {
    module.setFeatures(binaryen.Features.All);
    return instrument(binaryen, module, maxMemoryPages, maxStackBytes);
  } catch (error) {
    if (error instanceof ReducerLoadError) throw error;
    throw new ReducerLoadError(
      'malformed',
      `the instrumenter failed on the core module: ${messageOf(error)}`,
      {
        cause: error,
      },
    );
  } finally {
    module.dispose();
  }
}

function instrument(
  binaryen: Binaryen,
  module: Module,
  maxMemoryPages: number,
  maxStackBytes: number,
): Uint8Array {
  const classes = binaryen as unknown as ExpressionClasses;
  module.addGlobalImport(FUEL, METER_MODULE, FUEL_IMPORT, binaryen.i64, true);
  module.addGlobal(MEMORY_EXCEEDED, binaryen.i32, true, module.i32.const(0));
  module.addGlobalExport(MEMORY_EXCEEDED, MEMORY_EXCEEDED_EXPORT);
  module.addGlobal(STACK, binaryen.i32, true, module.i32.const(0));
  module.addGlobal(STACK_EXCEEDED, binaryen.i32, true, module.i32.const(0));
  module.addGlobalExport(STACK_EXCEEDED, STACK_EXCEEDED_EXPORT);

  const stackBy = (delta: number): ExpressionRef =>
    module.global.set(STACK, module.i32.add(module.global.get(STACK, binaryen.i32), module.i32.const(delta)));
  const pushFrame = (bytes: number): ExpressionRef =>
    module.block(null, [
      stackBy(bytes),
      module.if(
        module.i32.gt_u(module.global.get(STACK, binaryen.i32), module.i32.const(maxStackBytes)),
        module.block(null, [module.global.set(STACK_EXCEEDED, module.i32.const(1)), module.unreachable()]),
      ),
    ]);

  const charge = (): ExpressionRef =>
    module.block(null, [
      module.global.set(FUEL, module.i64.sub(module.global.get(FUEL, binaryen.i64), i64Const(module, 1n))),
      module.if(
        module.i64.lt_s(module.global.get(FUEL, binaryen.i64), i64Const(module, 0n)),
        module.unreachable(),
      ),
    ]);

  const functions: number[] = [];
  for (let i = 0; i < module.getNumFunctions(); i++) {
    const func = module.getFunctionByIndex(i);
    if (!binaryen.getFunctionInfo(func).module) functions.push(func);
  }
  let growsMemory = false;
  const bulkTypes = new Set<number>();
  const fields = childFields(binaryen);
  for (const func of functions) {
    const info = binaryen.getFunctionInfo(func);
    const where = `function ${info.name}`;
    const frame = frameBytes(
      binaryen.expandType(info.params).length + info.vars.length,
      operandHeight(binaryen, fields, info.body, where),
    );
    let body = info.body;
    for (const [expr, slot] of expressions(binaryen, fields, info.body, where)) {
      const id = binaryen.getExpressionId(expr);
      if (id === binaryen.ReturnId) {
        // Every exit goes through the function's end, where the frame is popped (invariant 4).
        const value = (binaryen.getExpressionInfo(expr) as binaryenNs.ReturnInfo).value;
        const exit = module.br(EXIT, 0, value);
        if (slot === undefined) body = exit;
        else replaceChild(binaryen, slot, exit);
      } else if (id === binaryen.LoopId) {
        const body = (binaryen.getExpressionInfo(expr) as binaryenNs.LoopInfo).body;
        classes.Loop.setBody(expr, module.block(null, [charge(), body], binaryen.auto));
      } else if (id === binaryen.MemoryGrowId) {
        const delta = (binaryen.getExpressionInfo(expr) as binaryenNs.MemoryGrowInfo).delta;
        classes.MemoryGrow.setDelta(expr, module.call(GROW_CHECK, [delta], binaryen.i32));
        growsMemory = true;
      } else if (
        id === binaryen.MemoryCopyId ||
        id === binaryen.MemoryFillId ||
        id === binaryen.MemoryInitId
      ) {
        const size = (binaryen.getExpressionInfo(expr) as unknown as { size: ExpressionRef }).size;
        const type = binaryen.getExpressionType(size);
        const charged = module.call(`${BULK_CHARGE}_${type}`, [size], type);
        if (id === binaryen.MemoryCopyId) classes.MemoryCopy.setSize(expr, charged);
        else if (id === binaryen.MemoryFillId) classes.MemoryFill.setSize(expr, charged);
        else classes.MemoryInit.setSize(expr, charged);
        bulkTypes.add(type);
      }
    }
    const results = info.results;
    const framed = module.block(EXIT, [charge(), pushFrame(frame), body], results);
    if (results === binaryen.none) {
      classes.Function.setBody(func, module.block(null, [framed, stackBy(-frame)], binaryen.none));
    } else {
      const result = addVar(binaryen, func, results);
      classes.Function.setBody(
        func,
        module.block(
          null,
          [module.local.set(result, framed), stackBy(-frame), module.local.get(result, results)],
          results,
        ),
      );
    }
  }
  if (growsMemory) addGrowCheck(binaryen, module, maxMemoryPages);
  for (const type of bulkTypes) addBulkCharge(binaryen, module, type);
  if (!module.validate()) {
    throw new ReducerLoadError('malformed', 'the metered core module does not validate');
  }
  return module.emitBinary();
}

/** binaryen 130's `i64.const` takes one BigInt (its typings still say two halves; anything else aborts it). */
function i64Const(module: Module, value: bigint): ExpressionRef {
  return (module.i64.const as unknown as (value: bigint) => ExpressionRef)(value);
}

/** Adds a local of `type` to `func`; returns its index (binaryen.js wraps no such call). */
function addVar(binaryen: Binaryen, func: number, type: number): number {
  const raw = binaryen as unknown as { _BinaryenFunctionAddVar(func: number, type: number): number };
  return raw._BinaryenFunctionAddVar(func, type);
}

/** The item of each list field, as binaryen.js names its `set…At` setter. */
const LIST_ITEM: Readonly<Record<string, string>> = {
  children: 'child',
  operands: 'operand',
  catchBodies: 'catchBody',
};

/** Puts `child` where `slot` says, through binaryen.js's per-class setters (`setValue`, `setChildAt`, …). */
function replaceChild(binaryen: Binaryen, slot: Slot, child: ExpressionRef): void {
  const id = binaryen.getExpressionId(slot.parent);
  const ids = binaryen as unknown as Record<string, unknown>;
  const className = Object.keys(ids)
    .find((key) => key.endsWith('Id') && ids[key] === id)
    ?.slice(0, -2);
  const setters = (className === undefined ? undefined : ids[className]) as
    | Record<string, ((...args: number[]) => void) | undefined>
    | undefined;
  const name = slot.index === undefined ? slot.field : (LIST_ITEM[slot.field] ?? slot.field);
  const setter =
    setters?.[`set${name.replace(/^./, (c) => c.toUpperCase())}${slot.index === undefined ? '' : 'At'}`];
  if (setter === undefined) {
    throw new ReducerLoadError(
      'forbidden-instruction',
      `a \`return\` inside a ${className} cannot be metered`,
    );
  }
  if (slot.index === undefined) setter(slot.parent, child);
  else setter(slot.parent, slot.index, child);
}

/** `(param $delta i32) (result i32)`: $delta, or a trap that flags the memory limit (invariant 2). */
function addGrowCheck(binaryen: Binaryen, module: Module, maxMemoryPages: number): void {
  const pagesAfter = module.i64.add(
    module.i64.extend_u(module.memory.size()),
    module.i64.extend_u(module.local.get(0, binaryen.i32)),
  );
  module.addFunction(
    GROW_CHECK,
    binaryen.i32,
    binaryen.i32,
    [],
    module.block(
      null,
      [
        module.if(
          module.i64.gt_u(pagesAfter, i64Const(module, BigInt(maxMemoryPages))),
          module.block(null, [module.global.set(MEMORY_EXCEEDED, module.i32.const(1)), module.unreachable()]),
        ),
        module.local.get(0, binaryen.i32),
      ],
      binaryen.i32,
    ),
  );
}

/**
 * `(param $size T) (result T)`: $size, after charging it to the fuel (invariant 1). Its own entry is
 * not charged: it is added after the walk, and it neither loops nor calls.
 */
function addBulkCharge(binaryen: Binaryen, module: Module, type: number): void {
  const size = module.local.get(0, type);
  const bytes = type === binaryen.i64 ? size : module.i64.extend_u(size);
  const fuel = (): ExpressionRef => module.global.get(FUEL, binaryen.i64);
  module.addFunction(
    `${BULK_CHARGE}_${type}`,
    type,
    type,
    [],
    module.block(
      null,
      [
        module.global.set(
          FUEL,
          module.i64.sub(fuel(), module.i64.shr_u(bytes, i64Const(module, BigInt(BULK_SHIFT)))),
        ),
        module.if(module.i64.lt_s(fuel(), i64Const(module, 0n)), module.unreachable()),
        module.local.get(0, type),
      ],
      type,
    ),
  );
}

/**
 * A bound on how many values the function's body holds on the operand stack at once (invariant 4),
 * without recursion. A node's operands are all live when its last one is computed, so it needs at
 * most (operands - 1) + the tallest operand; a block, loop, if or try starts each child on an empty
 * stack of its own. Fails on nesting past MAX_NESTING (invariant 5).
 */
function operandHeight(
  binaryen: Binaryen,
  fields: ReadonlyMap<number, readonly string[]>,
  root: ExpressionRef,
  where: string,
): number {
  const sequential = new Set([binaryen.BlockId, binaryen.LoopId, binaryen.IfId, binaryen.TryId]);
  interface Pending {
    readonly children: readonly ExpressionRef[];
    readonly stacks: boolean;
    next: number;
    tallest: number;
  }
  const open = (expr: ExpressionRef): Pending => {
    const id = binaryen.getExpressionId(expr);
    const names = fields.get(id);
    if (names === undefined) throw refusal(binaryen, id, where);
    const info =
      names.length === 0 ? {} : (binaryen.getExpressionInfo(expr) as unknown as Record<string, unknown>);
    const children: ExpressionRef[] = [];
    for (const field of names) {
      const child = info[field];
      if (Array.isArray(child)) children.push(...(child as ExpressionRef[]).filter((c) => c !== 0));
      else if (typeof child === 'number' && child !== 0) children.push(child);
    }
    return { children, stacks: !sequential.has(id), next: 0, tallest: 0 };
  };
  const path: Pending[] = [open(root)];
  for (;;) {
    const top = path[path.length - 1]!;
    const child = top.children[top.next++];
    if (child !== undefined) {
      if (path.length >= MAX_NESTING) {
        throw new ReducerLoadError(
          'too-deep',
          `${where} nests expressions more than ${MAX_NESTING} deep, which is refused: the instrumenter's depth is bounded so every host loads the same modules`,
        );
      }
      path.push(open(child));
      continue;
    }
    path.pop();
    const height = top.stacks ? Math.max(1, top.children.length - 1 + top.tallest) : top.tallest;
    const parent = path[path.length - 1];
    if (parent === undefined) return height;
    parent.tallest = Math.max(parent.tallest, height);
  }
}

/** The expression kinds let through, and the fields that hold their children (invariant 3). */
function childFields(binaryen: Binaryen): ReadonlyMap<number, readonly string[]> {
  const b = binaryen;
  return new Map<number, readonly string[]>([
    [b.NopId, []],
    [b.BlockId, ['children']],
    [b.IfId, ['condition', 'ifTrue', 'ifFalse']],
    [b.LoopId, ['body']],
    [b.BreakId, ['condition', 'value']],
    [b.SwitchId, ['condition', 'value']],
    [b.CallId, ['operands']],
    [b.CallIndirectId, ['target', 'operands']],
    [b.LocalGetId, []],
    [b.LocalSetId, ['value']],
    [b.GlobalGetId, []],
    [b.GlobalSetId, ['value']],
    [b.LoadId, ['ptr']],
    [b.StoreId, ['ptr', 'value']],
    [b.ConstId, []],
    [b.UnaryId, ['value']],
    [b.BinaryId, ['left', 'right']],
    [b.SelectId, ['ifTrue', 'ifFalse', 'condition']],
    [b.DropId, ['value']],
    [b.ReturnId, ['value']],
    [b.MemorySizeId, []],
    [b.MemoryGrowId, ['delta']],
    [b.UnreachableId, []],
    [b.MemoryInitId, ['dest', 'offset', 'size']],
    [b.DataDropId, []],
    [b.MemoryCopyId, ['dest', 'source', 'size']],
    [b.MemoryFillId, ['dest', 'value', 'size']],
    [b.SIMDExtractId, ['vec']],
    [b.SIMDReplaceId, ['vec', 'value']],
    [b.SIMDShuffleId, ['left', 'right']],
    [b.SIMDTernaryId, ['a', 'b', 'c']],
    [b.SIMDShiftId, ['vec', 'shift']],
    [b.SIMDLoadId, ['ptr']],
    [b.SIMDLoadStoreLaneId, ['ptr', 'vec']],
    [b.RefNullId, []],
    [b.RefIsNullId, ['value']],
    [b.RefFuncId, []],
    [b.RefEqId, ['left', 'right']],
    [b.TableGetId, ['index']],
    [b.TableSetId, ['index', 'value']],
    [b.TableSizeId, []],
    [b.TryId, ['body', 'catchBodies']],
    [b.ThrowId, ['operands']],
    [b.RethrowId, []],
    [b.PopId, []],
    [b.TupleMakeId, ['operands']],
    [b.TupleExtractId, ['tuple']],
  ]);
}

const ATOMIC_IDS = ['AtomicRMWId', 'AtomicCmpxchgId', 'AtomicWaitId', 'AtomicNotifyId', 'AtomicFenceId'];

/**
 * Every expression under `root` with the slot it hangs in (none for the root), parents before
 * children, without recursion (bodies may nest deeply). The consumer may replace the expression it
 * was given: its children are read afterwards, from the original.
 */
function* expressions(
  binaryen: Binaryen,
  fields: ReadonlyMap<number, readonly string[]>,
  root: ExpressionRef,
  where: string,
): Generator<[ExpressionRef, Slot | undefined]> {
  const stack: [ExpressionRef, Slot | undefined][] = [[root, undefined]];
  for (let entry = stack.pop(); entry !== undefined; entry = stack.pop()) {
    const [expr] = entry;
    if (expr === 0) continue;
    const id = binaryen.getExpressionId(expr);
    const names = fields.get(id);
    if (names === undefined) throw refusal(binaryen, id, where);
    // Leaves have no info class in binaryen.js (getExpressionInfo throws on a nop).
    const info =
      names.length === 0 ? {} : (binaryen.getExpressionInfo(expr) as unknown as Record<string, unknown>);
    if (info.isAtomic === true) throw refusal(binaryen, id, where);
    if (info.isReturn === true) {
      throw new ReducerLoadError(
        'forbidden-instruction',
        `${where} makes a tail call, which is refused: the stack meter needs every call to return`,
      );
    }
    yield entry;
    for (const field of names) {
      const child = info[field];
      if (Array.isArray(child)) {
        (child as ExpressionRef[]).forEach((c, index) => {
          stack.push([c, { parent: expr, field, index }]);
        });
      } else if (typeof child === 'number') {
        stack.push([child, { parent: expr, field, index: undefined }]);
      }
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function refusal(binaryen: Binaryen, id: number, where: string): ReducerLoadError {
  const ids = binaryen as unknown as Record<string, unknown>;
  const name = Object.keys(ids).find((key) => key.endsWith('Id') && ids[key] === id) ?? `expression ${id}`;
  const kind = name.replace(/Id$/, '');
  const why =
    ATOMIC_IDS.includes(name) || kind === 'Load' || kind === 'Store'
      ? 'atomics belong to threads, and a reducer runs on one thread, deterministically'
      : 'the fuel meter does not know it, so it could run unmetered';
  return new ReducerLoadError(
    'forbidden-instruction',
    `${where} uses ${kind === 'Load' || kind === 'Store' ? `an atomic ${kind.toLowerCase()}` : `\`${kind}\``}, which is refused: ${why}`,
  );
}

/** The module without custom sections (names, producers): nothing runs from them. */
function withoutCustomSections(core: Uint8Array): Uint8Array {
  const r = new BinaryReader(core, 'core module');
  r.take(CORE_PREAMBLE.length);
  const parts: Uint8Array[] = [core.subarray(0, CORE_PREAMBLE.length)];
  while (!r.done) {
    const start = r.pos;
    const id = r.u8();
    r.section(r.u32(), `section ${id}`);
    if (id !== 0) parts.push(core.subarray(start, r.pos));
  }
  return concatBytes(parts);
}

/** The module with its one memory's maximum at most `maxPages` (invariant 2). */
function clampMemory(core: Uint8Array, maxPages: number): Uint8Array {
  const r = new BinaryReader(core, 'core module');
  r.take(CORE_PREAMBLE.length);
  while (!r.done) {
    const start = r.pos;
    const id = r.u8();
    const body = r.section(r.u32(), `section ${id}`);
    if (id !== 5) continue;
    const count = body.u32();
    if (count === 0) return core;
    if (count > 1) {
      throw new ReducerLoadError(
        'forbidden-instruction',
        `the module defines ${count} memories; a reducer has exactly one`,
      );
    }
    const flags = body.u8();
    const min = body.u32();
    const max = (flags & 0x01) !== 0 ? body.u32() : undefined;
    if (min > maxPages) {
      throw new ReducerLoadError(
        'memory-too-large',
        `the memory starts at ${min} pages of 64 KiB (${(min * WASM_PAGE) / 2 ** 20} MiB); the limit is ${maxPages} pages`,
      );
    }
    const clamped = [0x01, ...leb(min), ...leb(Math.min(max ?? maxPages, maxPages))];
    const section = [5, ...leb(clamped.length + 1), 1, ...clamped];
    return concatBytes([core.subarray(0, start), new Uint8Array(section), core.subarray(r.pos)]);
  }
  return core;
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
