// Prepared reducers are kept on disk (shared-prepared.ts), so processes no longer prepare each on its
// own: this file keeps prepared.ts invariant 2 checked across processes, checks that the folder is read
// (a cache whose entries were never found would be slow, not wrong, and nothing else would notice),
// that a warm process never imports binaryen, and that what the folder holds is checked before use.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { component, FULL_GUEST } from './fixtures.test-helpers.js';
import { prepareReducer } from './prepare.js';

const run = promisify(execFile);
const PREPARE = new URL('../../dist/prepare.js', import.meta.url).href;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

let scratch: string;
let componentPath: string;
let blockBinaryen: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'tandem-shared-prepared-'));
  componentPath = join(scratch, 'component.wasm');
  await writeFile(componentPath, await component(FULL_GUEST));
  // A module resolution hook that refuses binaryen: a process started with it fails if it prepares.
  const hooks = join(scratch, 'no-binaryen-hooks.mjs');
  await writeFile(
    hooks,
    `export async function resolve(specifier, context, next) {
      if (specifier === 'binaryen') throw new Error('binaryen was imported');
      return next(specifier, context);
    }`,
  );
  blockBinaryen = join(scratch, 'no-binaryen.mjs');
  await writeFile(
    blockBinaryen,
    `import { register } from 'node:module'; register(${JSON.stringify(new URL(`file://${hooks}`).href)});`,
  );
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/**
 * Prepares the component in a new Node process (the build); `folder` is TANDEM_PREPARED_CACHE (''
 * turns the cache off, undefined leaves it unset so the default folder under XDG_CACHE_HOME is used).
 * Returns the prepared bytes' SHA-256.
 */
async function prepareInProcess(
  folder: string | undefined,
  options: { readonly xdg?: string; readonly noBinaryen?: boolean } = {},
): Promise<string> {
  const script = `
    import { readFile } from 'node:fs/promises';
    import { createHash } from 'node:crypto';
    const { prepareReducer } = await import(${JSON.stringify(PREPARE)});
    const prepared = await prepareReducer(await readFile(${JSON.stringify(componentPath)}));
    process.stdout.write(createHash('sha256').update(prepared).digest('hex'));
  `;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    XDG_CACHE_HOME: options.xdg ?? join(scratch, 'xdg-unused'),
  };
  if (folder === undefined) delete env.TANDEM_PREPARED_CACHE;
  else env.TANDEM_PREPARED_CACHE = folder;
  const imports = options.noBinaryen === true ? ['--import', blockBinaryen] : [];
  const { stdout } = await run(process.execPath, [...imports, '--input-type=module', '-e', script], { env });
  return stdout;
}

test('processes that share no folder prepare a component into the same bytes, and those sharing one read them from it without importing binaryen', async () => {
  const [first, second] = await Promise.all([prepareInProcess(''), prepareInProcess('')]);
  expect(first).toMatch(/^[0-9a-f]{64}$/);
  expect(second).toBe(first);
  await expect(prepareInProcess('', { noBinaryen: true }), 'the hook refuses binaryen').rejects.toThrow(
    /binaryen was imported/,
  );

  const folder = join(scratch, 'shared');
  await mkdir(folder);
  expect(await prepareInProcess(folder)).toBe(first);
  const entries = await readdir(folder);
  expect(entries, 'one whole entry, no partial file left').toHaveLength(1);
  expect(await prepareInProcess(folder, { noBinaryen: true }), 'a warm process never meters').toBe(first);

  // Other bytes made under the same header, put in the entry's place, are what the next process gets:
  // it read the entry instead of preparing (a custom section at the end changes the hash, not the code).
  const entry = join(folder, entries[0]!);
  const name = new TextEncoder().encode('x');
  const marked = new Uint8Array([...(await readFile(entry)), 0, name.length + 2, name.length, ...name, 7]);
  await writeFile(entry, marked);
  expect(await prepareInProcess(folder)).toBe(sha256(marked));
  expect(sha256(marked)).not.toBe(first);
}, 60_000);

test('without TANDEM_PREPARED_CACHE the cache lives under XDG_CACHE_HOME, and the empty string turns it off', async () => {
  const xdg = join(scratch, 'xdg');
  const expected = await prepareInProcess(undefined, { xdg });
  expect(await readdir(join(xdg, 'tandem', 'prepared'))).toHaveLength(1);
  expect(await prepareInProcess(undefined, { xdg, noBinaryen: true })).toBe(expected);

  const off = join(scratch, 'xdg-off');
  await expect(prepareInProcess('', { xdg: off, noBinaryen: true })).rejects.toThrow(/binaryen was imported/);
  await expect(readdir(off)).rejects.toThrow(/ENOENT/);
}, 60_000);

test('bytes in the folder that are not a prepared reducer of this component under these limits are not used', async () => {
  const folder = join(scratch, 'damaged');
  await mkdir(folder);
  const expected = await prepareInProcess(folder);
  const [entry] = await readdir(folder);
  await writeFile(join(folder, entry!), new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
  expect(await prepareInProcess(folder)).toBe(expected);

  // A valid prepared reducer, but metered under other limits: using it would fail every open (meter-mismatch).
  const other = await prepareReducer(await component(FULL_GUEST), { limits: { maxMemoryPages: 64 } });
  await writeFile(join(folder, entry!), other);
  expect(await prepareInProcess(folder)).toBe(expected);
}, 60_000);
