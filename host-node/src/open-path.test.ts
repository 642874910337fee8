import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';
import { TODO_REDUCER } from './testing/paths.js';

const run = promisify(execFile);
/** The built package, as an app imports it (a new process: nothing loaded before). */
const HOST_NODE = fileURLToPath(new URL('../dist/index.js', import.meta.url));
/** What only a syncing document needs: the protocol's schemas and codec, msgpack, ws. */
const SYNC_ONLY = /@sinclair\/typebox|@msgpack\/msgpack|\/node_modules\/ws\/|\/protocol\/codec\.js/;
/** The message schemas, ~250 modules of TypeBox: the codec checks their JSON form instead (wire-schemas.ts). */
const SCHEMAS = /@sinclair\/typebox|\/protocol\/messages\.js/;

interface Loaded {
  /** When the first query answered (ms since the epoch, from the process's clock). */
  readonly answeredAt: number;
  /** Each module the process resolved, and when. */
  readonly modules: readonly { readonly url: string; readonly at: number }[];
  /**
   * Asked for (`required`): what it had loaded without resolving an import by the first answer, Node's
   * built-ins (`NativeModule zlib`) and CommonJS files (`require`).
   */
  readonly required: readonly string[];
}

/** Prints Node's built-ins and the CommonJS files loaded so far: neither passes the resolve hook. */
const LIST_REQUIRED = `
  const { createRequire } = await import('node:module');
  const files = Object.keys(createRequire(${JSON.stringify(HOST_NODE)}).cache);
  for (const name of [...process.moduleLoadList, ...files]) process.stderr.write('required ' + name + '\\n');`;

/**
 * The modules a new process resolves while it opens a document, queries it and closes it; with a
 * coordinator, it closes the document once a first connection was tried (the sync code is in).
 */
async function modulesLoaded(coordinatorUrl: string | undefined, required = false): Promise<Loaded> {
  const dir = await mkdtemp(join(tmpdir(), 'tandem-open-path-'));
  try {
    const hooks = join(dir, 'hooks.mjs');
    await writeFile(
      hooks,
      'const now = () => performance.timeOrigin + performance.now();\nexport async function resolve(s, c, next) { const at = now(); const r = await next(s, c); process.stderr.write("resolved " + at + " " + r.url + "\\n"); return r; }\n',
    );
    const script = `
      const { openDocument } = await import(${JSON.stringify(pathToFileURL(HOST_NODE).href)});
      const doc = await openDocument({ docId: 'd', reducer: ${JSON.stringify(TODO_REDUCER)}${coordinatorUrl ? `, coordinatorUrl: ${JSON.stringify(coordinatorUrl)}` : ''} });
      await doc.query('SELECT count(*) FROM todos');
      process.stderr.write('answered ' + (performance.timeOrigin + performance.now()) + '\\n');
      ${required ? LIST_REQUIRED : ''}
      ${coordinatorUrl ? 'while (doc.lastSyncDrop === undefined) await new Promise((resolve) => setTimeout(resolve, 5));' : ''}
      await doc.close();
      process.exit(0);`;
    const register = `data:text/javascript,import { register } from "node:module"; register(${JSON.stringify(pathToFileURL(hooks).href)});`;
    const { stderr } = await run(process.execPath, [
      '--import',
      register,
      '--input-type=module',
      '-e',
      script,
    ]);
    const lines = stderr.split('\n');
    const answered = lines.find((line) => line.startsWith('answered '));
    return {
      answeredAt: Number(answered?.split(' ')[1]),
      modules: lines
        .filter((line) => line.startsWith('resolved '))
        .map((line) => {
          const [, at, url] = line.split(' ');
          return { url: url!, at: Number(at) };
        }),
      required: lines
        .filter((line) => line.startsWith('required '))
        .map((line) => line.slice('required '.length)),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('a document opened without a coordinator loads no sync code (protocol schemas and codec, msgpack, ws); one with a coordinator loads it once it has answered its first query, but never the schemas (TypeBox)', async () => {
  const local = (await modulesLoaded(undefined)).modules.map((m) => m.url);
  expect(local.some((url) => url.includes('/runtime/dist/local.js'))).toBe(true);
  expect(local.filter((url) => SYNC_ONLY.test(url))).toEqual([]);
  const syncing = await modulesLoaded('ws://127.0.0.1:9/sync');
  const syncOnly = syncing.modules.filter((m) => SYNC_ONLY.test(m.url));
  expect(syncOnly.map((m) => m.url).some((url) => url.includes('/node_modules/ws/'))).toBe(true);
  expect(syncOnly.filter((m) => !(m.at > syncing.answeredAt))).toEqual([]);
  expect(syncing.modules.filter((m) => SCHEMAS.test(m.url))).toEqual([]);
}, 60_000);

test('a process whose reducer is already prepared on disk loads neither the meter nor binaryen', async () => {
  // The first process may prepare it (a miss meters it); the next one finds it in the shared cache.
  await modulesLoaded(undefined);
  const warm = (await modulesLoaded(undefined)).modules.map((m) => m.url);
  expect(warm.some((url) => url.includes('/runtime/dist/reducer/prepare.js'))).toBe(true);
  expect(warm.filter((url) => /\/reducer\/meter\.js|\/binaryen\//.test(url))).toEqual([]);
}, 60_000);

test('an empty document answers its first query in Node without loading node:zlib or fflate: nothing on its path inflates', async () => {
  const loaded = await modulesLoaded(undefined, true);
  expect(loaded.modules.some((m) => m.url.includes('/runtime/dist/deflate.js'))).toBe(true);
  const names = [...loaded.modules.map((m) => m.url), ...loaded.required];
  expect(names.filter((name) => /NativeModule zlib|\/node_modules\/fflate\//.test(name))).toEqual([]);
  // The listing itself works: the process's own built-ins are in it.
  expect(loaded.required).toContain('NativeModule fs');
}, 60_000);
