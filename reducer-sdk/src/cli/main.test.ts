import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { componentEmbed, componentNew } from '@bytecodealliance/jco';
import { METER_VERSION } from '@tandem/runtime';
import { prepareReducer } from '@tandem/runtime/prepare';
import { afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { reducerDir, TODO_DIR } from '../guest.test-helpers.js';
import { main } from './main.js';

/** Runs the CLI in-process; returns its exit code and what it wrote. */
async function tandem(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  try {
    return { code: await main(argv), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

afterEach(() => {
  vi.restoreAllMocks();
});

const REDUCER_TAIL = `
export function migrate(from: u32): Outcome {
  return Outcome.ok();
}
`;

describe('tandem build', () => {
  let todo: string;
  let built: Awaited<ReturnType<typeof tandem>>;

  beforeAll(async () => {
    todo = await reducerDir({ copy: TODO_DIR });
    built = await tandem('build', todo);
  });

  test('builds the todo reducer into a component and a manifest naming its prepared hash, with a one-line summary', async () => {
    expect(built.code).toBe(0);
    expect(built.stdout).toMatch(
      /^built @tandem\/reducer-todo → .*reducer\.wasm \(\d+\.\d KB, schema 1, sha256 [0-9a-f]{12}…\) in \d+\.\d s\n$/,
    );
    const wasm = await readFile(join(todo, 'dist', 'reducer.wasm'));
    const manifest: unknown = JSON.parse(await readFile(join(todo, 'dist', 'manifest.json'), 'utf8'));
    expect(manifest).toEqual({
      name: '@tandem/reducer-todo',
      world: 'tandem:reducer/reducer@0.1.0',
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      schemaVersion: 1,
      bytes: wasm.byteLength,
      prepared: {
        sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
        bytes: expect.any(Number),
        meterVersion: METER_VERSION,
      },
    });
    // The prepared hash is what a coordinator of this runtime serves the component under.
    const prepared = await prepareReducer(wasm);
    expect((manifest as { prepared: unknown }).prepared).toMatchObject({
      sha256: createHash('sha256').update(prepared).digest('hex'),
      bytes: prepared.byteLength,
    });
  });

  test('the core module has exactly the world’s legacy core names', async () => {
    const core = await WebAssembly.compile(new Uint8Array(await readFile(join(todo, 'build', 'core.wasm'))));
    expect(
      WebAssembly.Module.exports(core)
        .map((e) => e.name)
        .sort(),
    ).toEqual(
      [
        'cabi_post_migrate',
        'cabi_post_reduce',
        'cabi_realloc',
        'memory',
        'migrate',
        'reduce',
        'schema-version',
      ].sort(),
    );
    for (const i of WebAssembly.Module.imports(core)) {
      expect(['tandem:reducer/sql@0.1.0', 'tandem:reducer/env@0.1.0']).toContain(i.module);
    }
  });

  test('inspect reports a built reducer: world, imports, exports, size and hash', async () => {
    const r = await tandem('inspect', join(todo, 'dist', 'reducer.wasm'));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('world          tandem:reducer/reducer@0.1.0');
    expect(r.stdout).toMatch(/schema version +1\n/);
    expect(r.stdout).toContain('reduce: func(batch: list<mutation>) -> list<result<_, string>>;');
    expect(r.stdout).toContain('tandem:reducer/sql@0.1.0');
    expect(r.stdout).toMatch(
      new RegExp(`prepared +[0-9a-f]{64} \\(\\d+ bytes, meter version ${METER_VERSION}\\)\n`),
    );
  });

  test('a type error exits non-zero with asc’s message and its location', async () => {
    const dir = await reducerDir({
      source: `import { Mutation, Outcome } from '@tandem/reducer-sdk/assembly';
export const SCHEMA_VERSION: u32 = 1;
export function reduce(m: Mutation): Outcome {
  const n: i32 = 'not a number';
  return Outcome.ok();
}${REDUCER_TAIL}`,
    });
    const r = await tandem('build', dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Type '~lib/string/String' is not assignable to type 'i32'");
    expect(r.stderr).toContain('assembly/index.ts(4,');
  });

  test('a reducer that uses Date.now is refused, naming it, the SDK’s replacement and where it is', async () => {
    const dir = await reducerDir({
      source: `import { Mutation, Outcome } from '@tandem/reducer-sdk/assembly';
export const SCHEMA_VERSION: u32 = 1;
export function reduce(m: Mutation): Outcome {
  return Date.now() > 0 ? Outcome.ok() : Outcome.reject('time travel');
}${REDUCER_TAIL}`,
    });
    const r = await tandem('build', dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('uses Date.now');
    expect(r.stderr).toContain('use now() from');
    expect(r.stderr).toMatch(/assembly\/index\.ts:4\)/);
  });

  test('a reducer without migrate is told what to export', async () => {
    const dir = await reducerDir({
      source: `import { Mutation, Outcome } from '@tandem/reducer-sdk/assembly';
export const SCHEMA_VERSION: u32 = 1;
export function reduce(m: Mutation): Outcome {
  return Outcome.ok();
}`,
    });
    const r = await tandem('build', dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('A reducer exports migrate(from: u32): Outcome');
  });

  test('a folder without assembly/index.ts is a clear error', async () => {
    const r = await tandem('build', join(todo, 'nowhere'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no reducer source at .*nowhere\/assembly\/index\.ts/);
  });
});

describe('tandem inspect', () => {
  async function inspectBytes(bytes: Uint8Array) {
    const dir = await reducerDir({ source: '' });
    const path = join(dir, 'x.wasm');
    await writeFile(path, bytes);
    return tandem('inspect', path);
  }

  test('refuses random bytes', async () => {
    const r = await inspectBytes(Uint8Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is not a Tandem reducer: not a WebAssembly binary/);
  });

  test('refuses a core module, saying reducers are components', async () => {
    const r = await inspectBytes(Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not a component/);
  });

  test('refuses a component of another world', async () => {
    const witSource = 'package test:other@1.0.0;\nworld other {\n  export run: func() -> u32;\n}\n';
    const component = await componentNew(await componentEmbed({ dummy: true, witSource, world: 'other' }));
    const r = await inspectBytes(component);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/another world/);
  });

  test('refuses a file that does not exist', async () => {
    const r = await tandem('inspect', '/nonexistent/reducer.wasm');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot read /nonexistent/reducer.wasm');
  });
});

test('usage errors exit 2 and --help prints the commands', async () => {
  expect((await tandem('frobnicate')).code).toBe(2);
  const help = await tandem('--help');
  expect(help.code).toBe(0);
  expect(help.stdout).toContain('build <dir>');
});
