// Test runs share prepared reducers between processes (shared-prepared.ts), so the processes of a run
// no longer prepare each on its own: this file keeps prepared.ts invariant 2 checked across processes,
// and checks that the shared folder is read (a run whose entries were never found would be slow, not
// wrong, and nothing else would notice).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
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
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'tandem-shared-prepared-'));
  componentPath = join(scratch, 'component.wasm');
  await writeFile(componentPath, await component(FULL_GUEST));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** Prepares the component in a new Node process (the build), sharing `folder` or nothing; its SHA-256. */
async function prepareInProcess(folder: string | undefined): Promise<string> {
  const script = `
    import { readFile } from 'node:fs/promises';
    import { createHash } from 'node:crypto';
    const { prepareReducer } = await import(${JSON.stringify(PREPARE)});
    const prepared = await prepareReducer(await readFile(${JSON.stringify(componentPath)}));
    process.stdout.write(createHash('sha256').update(prepared).digest('hex'));
  `;
  const env = { ...process.env, TANDEM_PREPARED_CACHE: folder ?? '' };
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { env });
  return stdout;
}

test('processes that share no folder prepare a component into the same bytes, and those sharing one read them from it', async () => {
  const [first, second] = await Promise.all([prepareInProcess(undefined), prepareInProcess(undefined)]);
  expect(first).toMatch(/^[0-9a-f]{64}$/);
  expect(second).toBe(first);

  const folder = join(scratch, 'shared');
  await mkdir(folder);
  expect(await prepareInProcess(folder)).toBe(first);
  const entries = await readdir(folder);
  expect(entries, 'one whole entry, no partial file left').toHaveLength(1);

  // Another valid prepared reducer put in the entry's place is what the next process gets: it read
  // the entry instead of preparing.
  const other = await prepareReducer(await component(FULL_GUEST), { limits: { maxMemoryPages: 64 } });
  await writeFile(join(folder, entries[0]!), other);
  expect(await prepareInProcess(folder)).toBe(sha256(other));
  expect(sha256(other)).not.toBe(first);
}, 60_000);

test('bytes in the shared folder that are not a prepared reducer are not used', async () => {
  const folder = join(scratch, 'damaged');
  await mkdir(folder);
  const expected = await prepareInProcess(folder);
  const [entry] = await readdir(folder);
  await writeFile(join(folder, entry!), new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
  expect(await prepareInProcess(folder)).toBe(expected);
}, 60_000);
