import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { componentEmbed, componentNew } from '@bytecodealliance/jco';
import { METER_VERSION } from '@tandem/runtime';
import { prepareReducer } from '@tandem/runtime/prepare';
import { afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { reducerDir, TODO_DIR } from '../guest.test-helpers.js';
import { WORLD } from '../world.js';
import { main } from './main.js';

/** Every entry below `dir` (links as links, not followed), with its kind. */
async function listing(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .map(
      (e) =>
        `${relative(dir, join(e.parentPath, e.name))} ${e.isSymbolicLink() ? 'link' : e.isDirectory() ? 'dir' : 'file'}`,
    )
    .sort();
}

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
  let out: string;
  let before: string[];
  let built: Awaited<ReturnType<typeof tandem>>;

  beforeAll(async () => {
    todo = await reducerDir({ copy: TODO_DIR });
    before = await listing(todo);
    out = join(await mkdtemp(join(tmpdir(), 'tandem-out-')), 'nested', 'out');
    built = await tandem('build', todo, '--out', out);
  });

  test('builds the todo reducer into --out: a component and a manifest naming its prepared hash, with a one-line summary', async () => {
    expect(built.code).toBe(0);
    expect(built.stdout).toMatch(
      /^built @tandem\/reducer-todo → .*reducer\.wasm \(\d+\.\d KB, schema 2, sha256 [0-9a-f]{12}…\) in \d+\.\d s\n$/,
    );
    expect(built.stdout).toContain(join(out, 'reducer.wasm'));
    expect((await readdir(out)).sort()).toEqual(['manifest.json', 'reducer.wasm']);
    const wasm = await readFile(join(out, 'reducer.wasm'));
    const manifest: unknown = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'));
    expect(manifest).toEqual({
      name: '@tandem/reducer-todo',
      world: 'tandem:reducer/reducer@0.2.0',
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      schemaVersion: 2,
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

  test('with --out, the reducer’s folder is only read: nothing is added to it, no build/, no link', async () => {
    expect(await listing(todo)).toEqual(before);
  });

  test('inspect reports a built reducer: world, imports, exports, size and hash', async () => {
    const r = await tandem('inspect', join(out, 'reducer.wasm'));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('world          tandem:reducer/reducer@0.2.0');
    expect(r.stdout).toMatch(/schema version +2\n/);
    expect(r.stdout).toContain('reduce: func(batch: list<mutation>) -> list<result<_, string>>;');
    expect(r.stdout).toContain('tandem:reducer/sql@0.2.0');
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

  test('Date.now is refused before the compile, naming the SDK’s replacement and file:line:column relative to the reducer', async () => {
    const dir = await reducerDir({
      source: `import { Mutation, Outcome } from '@tandem/reducer-sdk/assembly';
import { late } from './clock';
export const SCHEMA_VERSION: u32 = 1;
export function reduce(m: Mutation): Outcome {
  return late() ? Outcome.ok() : Outcome.reject('time travel');
}${REDUCER_TAIL}`,
    });
    // A type error too: asc would report it, so a Date.now message shows the check ran first.
    await writeFile(
      join(dir, 'assembly', 'clock.ts'),
      `// Date.now in a comment is no use, nor 'Date.now' in a string.\nexport function late(): bool {\n  const n: i32 = 'x';\n  return  Date.now() > 0;\n}\n`,
    );
    // The folder is given as an absolute path: the places are named from the reducer's folder all the same.
    const r = await tandem('build', dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('uses Date.now');
    expect(r.stderr).toContain('use now() from');
    expect(r.stderr).toContain('(at assembly/clock.ts:4:11)');
    expect(r.stderr).not.toContain('not assignable');
  });

  test('without --out only dist/ is added to the folder; an --out that cannot be a folder is named', async () => {
    const dir = await reducerDir({
      source: `import { Mutation, Outcome } from '@tandem/reducer-sdk/assembly';
export const SCHEMA_VERSION: u32 = 1;
export function reduce(m: Mutation): Outcome {
  return Outcome.ok();
}${REDUCER_TAIL}`,
    });
    const before = await listing(dir);
    const blocked = await tandem('build', dir, '--out', join(dir, 'package.json', 'out'));
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toContain(
      `cannot write the build to ${join(dir, 'package.json', 'out')} (ENOTDIR`,
    );
    expect(await listing(dir)).toEqual(before);
    const r = await tandem('build', dir);
    expect(r.code).toBe(0);
    expect(await listing(dir)).toEqual(
      [...before, 'dist dir', 'dist/manifest.json file', 'dist/reducer.wasm file'].sort(),
    );
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

  test('a missing folder, a file and a folder without assembly/index.ts are each told apart', async () => {
    const missing = await tandem('build', join(todo, 'nowhere'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/tandem build: no such folder: .*nowhere\n$/);
    const file = await tandem('build', join(todo, 'package.json'));
    expect(file.code).toBe(1);
    expect(file.stderr).toMatch(/package\.json is a file: give the reducer's folder/);
    const empty = await tandem('build', out);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(
      /no reducer source at .*out\/assembly\/index\.ts \(a reducer's folder holds/,
    );
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

  test('refuses a file that does not exist, saying so', async () => {
    const r = await tandem('inspect', '/nonexistent/reducer.wasm');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('tandem inspect: no such file: /nonexistent/reducer.wasm\n');
  });

  test('refuses a folder, pointing at the reducer.wasm inside it when there is one', async () => {
    const dir = await reducerDir({ source: '' });
    const bare = await tandem('inspect', dir);
    expect(bare.code).toBe(1);
    expect(bare.stderr).toContain(`${dir} is a folder: give the reducer.wasm`);
    await mkdir(join(dir, 'dist'));
    await writeFile(join(dir, 'dist', 'reducer.wasm'), '');
    const built = await tandem('inspect', dir);
    expect(built.code).toBe(1);
    expect(built.stderr).toContain(`${dir} is a folder; did you mean ${join(dir, 'dist', 'reducer.wasm')}?`);
  });
});

describe('usage', () => {
  test.each([
    [['--help'], 'usage: tandem <command>'],
    [['-h'], 'usage: tandem <command>'],
    [['help'], 'usage: tandem <command>'],
    [['help', 'build'], 'usage: tandem build [dir] [--out <dir>]'],
    [['build', '--help'], 'usage: tandem build [dir] [--out <dir>]'],
    [['build', 'somewhere', '-h'], 'usage: tandem build [dir] [--out <dir>]'],
    [['inspect', '--help'], 'usage: tandem inspect <file.wasm>'],
  ])('%j prints help on stdout and exits 0', async (argv, first) => {
    const r = await tandem(...argv);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.startsWith(first)).toBe(true);
  });

  test('--version prints the SDK’s version and world, and exits 0', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    for (const flag of ['--version', '-v']) {
      const r = await tandem(flag);
      expect(r).toEqual({
        code: 0,
        stdout: `@tandem/reducer-sdk ${pkg.version} (builds ${WORLD})\n`,
        stderr: '',
      });
    }
  });

  test.each([
    [[], /^usage: tandem <command>/],
    [
      ['frobnicate'],
      /^tandem: unknown command 'frobnicate' \(commands: build, inspect\)\n\nusage: tandem <command>/,
    ],
    [['--frob'], /^tandem: unknown option '--frob'/],
    [['build', '--frob'], /^tandem build: unknown option '--frob'\n\nusage: tandem build/],
    [['build', '--out'], /^tandem build: option '--out <value>' argument missing\n\nusage: tandem build/],
    [['build', 'a', 'b'], /^tandem build: one reducer folder at a time \(got 2: a, b\)/],
    [['inspect'], /^tandem inspect: which file\? \(a reducer\.wasm\)\n\nusage: tandem inspect/],
    [['inspect', 'a.wasm', 'b.wasm'], /^tandem inspect: one file at a time/],
  ])('%j is a usage error: what is wrong, then the usage, on stderr, exit 2', async (argv, message) => {
    const r = await tandem(...argv);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
  });
});
