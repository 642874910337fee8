// Reads the parts of a core WebAssembly module that say what it imports and exports, with their
// types (type, import, function, memory and export sections). Everything else (code, data, …) is
// left to `WebAssembly.compile`, which validates the whole module afterwards.

import { BinaryReader } from './binary-reader.js';

export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'funcref' | 'externref';

export interface FuncType {
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
}

export interface Limits {
  readonly min: number;
  readonly max: number | undefined;
  readonly shared: boolean;
  readonly is64: boolean;
}

export type ExternKind = 'func' | 'table' | 'memory' | 'global' | 'tag';

export type CoreImport =
  | { readonly module: string; readonly name: string; readonly kind: 'func'; readonly type: FuncType }
  | { readonly module: string; readonly name: string; readonly kind: 'memory'; readonly limits: Limits }
  | { readonly module: string; readonly name: string; readonly kind: 'table' | 'global' | 'tag' };

export type CoreExport =
  | { readonly kind: 'func'; readonly type: FuncType }
  | { readonly kind: 'memory'; readonly limits: Limits }
  | { readonly kind: 'table' | 'global' | 'tag' };

export interface CoreModuleInfo {
  readonly imports: readonly CoreImport[];
  readonly exports: ReadonlyMap<string, CoreExport>;
  /** Every memory of the module, imported ones first (the memory index space). */
  readonly memories: readonly Limits[];
}

export const CORE_PREAMBLE = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00] as const;

const VAL_TYPES: Readonly<Record<number, ValType>> = {
  127: 'i32',
  126: 'i64',
  125: 'f32',
  124: 'f64',
  123: 'v128',
  112: 'funcref',
  111: 'externref',
};

const KINDS: readonly ExternKind[] = ['func', 'table', 'memory', 'global', 'tag'];

export function formatFuncType(type: FuncType): string {
  return `(${type.params.join(', ')}) -> (${type.results.join(', ')})`;
}

export function sameFuncType(a: FuncType, b: FuncType): boolean {
  return (
    a.params.length === b.params.length &&
    a.results.length === b.results.length &&
    a.params.every((t, i) => t === b.params[i]) &&
    a.results.every((t, i) => t === b.results[i])
  );
}

/** Parses a core module binary (preamble included); `what` names it in error messages. */
export function readCoreModule(bytes: Uint8Array, what = 'core module'): CoreModuleInfo {
  const r = new BinaryReader(bytes, what);
  for (const expected of CORE_PREAMBLE) {
    if (r.u8() !== expected) r.fail('not a core WebAssembly module (bad preamble)');
  }
  const types: FuncType[] = [];
  const funcs: FuncType[] = [];
  const memories: Limits[] = [];
  const imports: CoreImport[] = [];
  const rawExports: { name: string; kind: ExternKind; index: number }[] = [];
  while (!r.done) {
    const id = r.u8();
    const body = r.section(r.u32(), `section ${id}`);
    switch (id) {
      case 1:
        for (let n = body.u32(); n > 0; n--) types.push(readFuncType(body));
        break;
      case 2:
        for (let n = body.u32(); n > 0; n--) {
          const module = body.name();
          const name = body.name();
          const kind = kindOf(body);
          if (kind === 'func') {
            const type = typeAt(body, types, body.u32());
            funcs.push(type);
            imports.push({ module, name, kind, type });
          } else if (kind === 'memory') {
            const limits = readLimits(body, true);
            memories.push(limits);
            imports.push({ module, name, kind, limits });
          } else {
            skipImportDesc(body, kind);
            imports.push({ module, name, kind });
          }
        }
        break;
      case 3:
        for (let n = body.u32(); n > 0; n--) funcs.push(typeAt(body, types, body.u32()));
        break;
      case 5:
        for (let n = body.u32(); n > 0; n--) memories.push(readLimits(body, true));
        break;
      case 7:
        for (let n = body.u32(); n > 0; n--) {
          rawExports.push({ name: body.name(), kind: kindOf(body), index: body.u32() });
        }
        break;
      default:
        continue;
    }
    if (!body.done) body.fail('section has trailing bytes');
  }
  const exports = new Map<string, CoreExport>();
  for (const { name, kind, index } of rawExports) {
    if (exports.has(name)) r.fail(`exports "${name}" twice`);
    if (kind === 'func') {
      const type = funcs[index] ?? r.fail(`export "${name}" names function ${index}, which does not exist`);
      exports.set(name, { kind, type });
    } else if (kind === 'memory') {
      const limits =
        memories[index] ?? r.fail(`export "${name}" names memory ${index}, which does not exist`);
      exports.set(name, { kind, limits });
    } else {
      exports.set(name, { kind });
    }
  }
  return { imports, exports, memories };
}

function readValType(r: BinaryReader): ValType {
  const code = r.u8();
  return (
    VAL_TYPES[code] ?? r.fail(`value type 0x${code.toString(16)} is not supported (GC or another proposal)`)
  );
}

function readFuncType(r: BinaryReader): FuncType {
  const form = r.u8();
  if (form !== 0x60) r.fail(`type form 0x${form.toString(16)} is not supported (only function types)`);
  const params: ValType[] = [];
  for (let n = r.u32(); n > 0; n--) params.push(readValType(r));
  const results: ValType[] = [];
  for (let n = r.u32(); n > 0; n--) results.push(readValType(r));
  return { params, results };
}

function typeAt(r: BinaryReader, types: readonly FuncType[], index: number): FuncType {
  return types[index] ?? r.fail(`type index ${index} is out of range`);
}

function kindOf(r: BinaryReader): ExternKind {
  const code = r.u8();
  return KINDS[code] ?? r.fail(`unknown extern kind 0x${code.toString(16)}`);
}

/** Memory and table limits: flags bit 0 = has maximum, bit 1 = shared, bit 2 = 64-bit. */
function readLimits(r: BinaryReader, memory: boolean): Limits {
  const flags = r.u8();
  if (flags > 0x07 || (!memory && (flags & 0x02) !== 0))
    r.fail(`unsupported limits flags 0x${flags.toString(16)}`);
  const is64 = (flags & 0x04) !== 0;
  const min = is64 ? r.u64() : r.u32();
  const max = (flags & 0x01) !== 0 ? (is64 ? r.u64() : r.u32()) : undefined;
  return { min, max, shared: (flags & 0x02) !== 0, is64 };
}

function skipImportDesc(r: BinaryReader, kind: 'table' | 'global' | 'tag'): void {
  switch (kind) {
    case 'table':
      readValType(r);
      readLimits(r, false);
      return;
    case 'global':
      readValType(r);
      r.u8();
      return;
    case 'tag':
      r.u8();
      r.u32();
  }
}
