import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { readReducerComponent } from './component.js';
import { readCoreModule } from './core-module.js';
import { ReducerLoadError } from './errors.js';
import {
  component,
  coreModule,
  FULL_GUEST,
  minimalGuest,
  rawComponent,
  WIT,
} from './fixtures.test-helpers.js';

const CORE_MODULE_SECTION = 1;
const COMPONENT_SECTION = 4;

function loadError(fn: () => unknown): ReducerLoadError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ReducerLoadError) return error;
    throw error;
  }
  throw new Error('expected a ReducerLoadError');
}

/** Where each core module starts and ends in a component built by wit-component (top level only). */
function coreModuleRanges(bytes: Uint8Array): [number, number][] {
  const ranges: [number, number][] = [];
  let pos = 8;
  while (pos < bytes.length) {
    const id = bytes[pos++]!;
    let size = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[pos++]!;
      size |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
    }
    if (id === CORE_MODULE_SECTION) ranges.push([pos, pos + size]);
    pos += size;
  }
  return ranges;
}

const fullComponent = await component(FULL_GUEST);

/** A component holding only this core module: what wit-component would refuse to make. */
async function raw(wat: string): Promise<Uint8Array> {
  return rawComponent([CORE_MODULE_SECTION, await coreModule(wat)]);
}

describe('reading a component', () => {
  test('the main core module of a jco-built component is found among the shim and fixup modules', () => {
    const ranges = coreModuleRanges(fullComponent);
    expect(ranges.length).toBe(3);
    const core = readReducerComponent(fullComponent);
    const [start, end] = ranges[0]!;
    expect([...core.module]).toEqual([...fullComponent.subarray(start, end)]);
    const others = ranges.slice(1).map(([s, e]) => readCoreModule(fullComponent.subarray(s, e)));
    // The shim: an indirect-call table and one trampoline per import that needs memory or realloc.
    expect([...others[0]!.exports.keys()]).toEqual(['0', '1', '2', '3', '$imports']);
    // The fixup: fills the shim's table with the lowered imports; it exports nothing.
    expect(others[1]!.exports.size).toBe(0);
    expect(others[1]!.imports.map((i) => `${i.module}.${i.name}`)).toEqual([
      'actual.0',
      'actual.1',
      'actual.2',
      'actual.3',
      'shim.$imports',
    ]);
  });

  test('every world import is bound to its world function, with legacy names', () => {
    const core = readReducerComponent(fullComponent);
    expect(core.imports.map((i) => `${i.module}.${i.name}→${i.func}`)).toEqual([
      'tandem:reducer/sql@0.2.0.execute→execute',
      'tandem:reducer/sql@0.2.0.execute-batch→execute-batch',
      'tandem:reducer/sql@0.2.0.query→query',
      'tandem:reducer/env@0.2.0.log→log',
      'tandem:reducer/env@0.2.0.enter→enter',
      'tandem:reducer/env@0.2.0.now→now',
      'tandem:reducer/env@0.2.0.random→random',
    ]);
    expect(core.exports).toEqual({
      'schema-version': 'schema-version',
      migrate: 'migrate',
      'migrate-post': 'cabi_post_migrate',
      reduce: 'reduce',
      'reduce-post': 'cabi_post_reduce',
      realloc: 'cabi_realloc',
    });
    expect(core.memoryExport).toBe('memory');
  });

  test('a module using the cm32p2 mangled names is read as the same world', async () => {
    const wat = minimalGuest(
      `(import "cm32p2|tandem:reducer/env@0.2" "enter" (func (param i32)))
       (func (export "cm32p2_initialize"))
       (func (export "cm32p2||reduce_post") (param i32))`,
      'cm32p2||',
    );
    const core = readReducerComponent(await component(wat));
    expect(core.imports).toEqual([{ module: 'cm32p2|tandem:reducer/env@0.2', name: 'enter', func: 'enter' }]);
    expect(core.exports).toEqual({
      'schema-version': 'cm32p2||schema-version',
      migrate: 'cm32p2||migrate',
      reduce: 'cm32p2||reduce',
      'reduce-post': 'cm32p2||reduce_post',
      realloc: 'cm32p2_realloc',
      initialize: 'cm32p2_initialize',
    });
    expect(core.memoryExport).toBe('cm32p2_memory');
  });

  test('a reducer importing none of the world is fine', async () => {
    expect(readReducerComponent(await component(minimalGuest())).imports).toEqual([]);
  });

  test('the main module is found inside a nested component', async () => {
    const nested = rawComponent([CORE_MODULE_SECTION, await coreModule(minimalGuest())]);
    const core = readReducerComponent(rawComponent([COMPONENT_SECTION, nested]));
    expect(core.exports.reduce).toBe('reduce');
  });
});

describe('refusing what is not a reducer', () => {
  test('bytes that are not WebAssembly are not-wasm', () => {
    const seed = 0x5eed;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        fc.pre(!(bytes[0] === 0 && bytes[1] === 0x61 && bytes[2] === 0x73 && bytes[3] === 0x6d));
        expect(loadError(() => readReducerComponent(bytes)).kind).toBe('not-wasm');
      }),
      { seed, numRuns: 200 },
    );
  });

  test('random bytes after a component preamble are refused with a load error, never a crash', () => {
    const seed = 0xc0ffee;
    const preamble = fullComponent.subarray(0, 8);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (tail) => {
        const bytes = new Uint8Array([...preamble, ...tail]);
        expect(loadError(() => readReducerComponent(bytes))).toBeInstanceOf(ReducerLoadError);
      }),
      { seed, numRuns: 500 },
    );
  });

  test('any single corrupted byte in a real component is either harmless or a load error', () => {
    const seed = 0xbadbed;
    fc.assert(
      fc.property(fc.nat(fullComponent.length - 1), fc.integer({ min: 1, max: 255 }), (at, xor) => {
        const bytes = fullComponent.slice();
        bytes[at]! ^= xor;
        try {
          readReducerComponent(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(ReducerLoadError);
        }
      }),
      { seed, numRuns: 500 },
    );
  });

  test('a component truncated inside its main module is malformed', () => {
    const [start, end] = coreModuleRanges(fullComponent)[0]!;
    for (const cut of [9, start, start + 1, Math.floor((start + end) / 2), end - 1]) {
      const error = loadError(() => readReducerComponent(fullComponent.subarray(0, cut)));
      expect(error.kind).toBe('malformed');
    }
  });

  test('a plain core module is refused with advice to build it with `tandem build`', async () => {
    const bytes = await coreModule(minimalGuest());
    const error = loadError(() => readReducerComponent(bytes));
    expect(error.kind).toBe('core-module-not-component');
    expect(error.message).toContain('tandem build');
  });

  test('a component whose world imports one more interface is refused, naming the import', async () => {
    const wit = WIT.replace(
      'world reducer {',
      'interface clock { wall-now: func() -> u64; }\nworld reducer {\n  import clock;',
    );
    const wat = minimalGuest('(import "tandem:reducer/clock@0.2.0" "wall-now" (func (result i64)))');
    const bytes = await component(wat, wit);
    const error = loadError(() => readReducerComponent(bytes));
    expect(error.kind).toBe('forbidden-import');
    expect(error.message).toContain('`tandem:reducer/clock@0.2.0.wall-now`');
    expect(error.message).toContain('not part of the world tandem:reducer@0.2.0');
  });

  test("AssemblyScript's Date.now import is refused, naming it and the envelope's clock", async () => {
    const wat = minimalGuest('(import "env" "Date.now" (func (result f64)))');
    const bytes = await raw(wat);
    const error = loadError(() => readReducerComponent(bytes));
    expect(error.kind).toBe('forbidden-import');
    expect(error.message).toContain('`env.Date.now`');
    expect(error.message).toContain('clock');
  });

  test('an import with a world name but another core type is a bad signature', async () => {
    const wat = minimalGuest('(import "tandem:reducer/sql@0.2.0" "execute" (func (param i32 i32 i32 i32)))');
    const bytes = await raw(wat);
    const error = loadError(() => readReducerComponent(bytes));
    expect(error.kind).toBe('bad-signature');
    expect(error.message).toBe(
      "the import `tandem:reducer/sql@0.2.0.execute` has core type (i32, i32, i32, i32) -> (); the world's canonical ABI gives (i32, i32, i32, i32, i32) -> ()",
    );
  });

  test('an interface version other than the world one is a forbidden import that says to build again', async () => {
    for (const version of ['0.1.0', '0.3.0']) {
      const wat = minimalGuest(`(import "tandem:reducer/env@${version}" "enter" (func (param i32)))`);
      const bytes = await raw(wat);
      const error = loadError(() => readReducerComponent(bytes));
      expect(error.kind).toBe('forbidden-import');
      expect(error.message).toContain(`\`tandem:reducer/env@${version}.enter\``);
      expect(error.message).toContain(
        'built for another version of the world (this host runs tandem:reducer@0.2.0)',
      );
    }
  });

  test('shared memory is refused', async () => {
    const wat = minimalGuest().replace(
      '(memory (export "memory") 1)',
      '(memory (export "memory") 1 2 shared)',
    );
    const bytes = await raw(wat);
    const error = loadError(() => readReducerComponent(bytes));
    expect(error.kind).toBe('bad-signature');
    expect(error.message).toContain('shared');
  });

  test('an imported memory is a forbidden import', async () => {
    const wat = minimalGuest('(import "env" "memory" (memory 1))').replace(
      '(memory (export "memory") 1)',
      '(export "memory" (memory 0))',
    );
    const bytes = await raw(wat);
    const error = loadError(() => readReducerComponent(bytes));
    expect(error.kind).toBe('forbidden-import');
    expect(error.message).toContain('`env.memory`');
  });

  test('a module without reduce is missing an export', async () => {
    const wat = minimalGuest().replace('(export "reduce")', '(export "reduce-all")');
    const bytes = await raw(wat);
    const error = loadError(() => readReducerComponent(bytes));
    expect(error.kind).toBe('missing-export');
    expect(error.message).toContain('`reduce`');
  });

  test('a module without cabi_realloc is missing an export', async () => {
    const wat = minimalGuest().replace('(export "cabi_realloc")', '');
    const bytes = await raw(wat);
    const error = loadError(() => readReducerComponent(bytes));
    expect(error.kind).toBe('missing-export');
    expect(error.message).toContain('`cabi_realloc`');
  });

  test('an export with another core type is a bad signature', async () => {
    const wat = minimalGuest().replace(
      '(func (export "schema-version") (result i32) (i32.const 1))',
      '(func (export "schema-version") (result i64) (i64.const 1))',
    );
    const bytes = await raw(wat);
    const error = loadError(() => readReducerComponent(bytes));
    expect(error.kind).toBe('bad-signature');
    expect(error.message).toContain('`schema-version` has core type () -> (i64)');
  });

  test('two core modules exporting reduce are malformed', async () => {
    const core = await coreModule(minimalGuest());
    const error = loadError(() =>
      readReducerComponent(rawComponent([CORE_MODULE_SECTION, core], [CORE_MODULE_SECTION, core])),
    );
    expect(error.kind).toBe('malformed');
  });

  test('a section claiming more bytes than the component has is malformed', () => {
    const bytes = rawComponent([CORE_MODULE_SECTION, new Uint8Array(4)]);
    bytes[9] = 100;
    expect(loadError(() => readReducerComponent(bytes)).kind).toBe('malformed');
  });
});
