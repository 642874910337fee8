// What the todo demo ships, gzipped: its own vite build (its vite.config.ts, with hidden source maps,
// which leave the emitted code as it is) measured file by file. A JavaScript file's bytes are
// attributed to their sources through its source map: Tandem (the workspace packages' sources), the
// app's own code, each npm package, or the bundler's glue. A file's gzip is split in proportion to
// those bytes ("share"); Tandem's code is also gzipped on its own, file by file ("alone"), which
// costs more than its share (it loses the dictionary it shares with its neighbours).
//
// Only the files a browser fetched while running the app count (the caller watches the requests):
// vite emits sqlite-wasm's own workers, which Tandem never starts. Workers are separate bundles, so
// code both the page and a worker hold counts once per file, as it is downloaded.
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';
import { type SourceMapV3, splitBySource } from './browser-sourcemap.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const APP_ROOT = join(REPO_ROOT, 'reducers/todo/app');

export interface Size {
  readonly bytes: number;
  readonly gzip: number;
}

export const TANDEM = 'tandem';
export const APP = 'app';
export const BUNDLER = 'bundler glue';
export const UNMAPPED = 'a file without a source map';
const WORKSPACE = new Set([
  'runtime',
  'migrations',
  'host-browser',
  'host-node',
  'coordinator',
  'reducer-sdk',
]);
/** Names only binaryen.js has (its C API as Emscripten exports them; they survive minification). */
export const BINARYEN_SIGNATURES = ['BinaryenModuleCreate', 'BinaryenModuleAllocateAndWrite'];

export interface BuiltFile extends Size {
  /** Relative to the output folder, with `/`. */
  readonly file: string;
  /** JavaScript only: gzip split by origin in proportion to bytes. */
  readonly origins: ReadonlyMap<string, Size>;
  /** JavaScript only: Tandem's bytes of this file gzipped on their own. */
  readonly tandemAlone: number;
}

export interface AppSizes {
  readonly files: readonly BuiltFile[];
  /** Files fetched while the app ran. */
  readonly fetched: readonly BuiltFile[];
  /** The fetched JavaScript's share by origin (TANDEM, APP, BUNDLER, or an npm package). */
  readonly js: ReadonlyMap<string, Size>;
  /** Tandem's fetched JavaScript, each file's Tandem bytes gzipped on their own. */
  readonly tandemAlone: number;
  readonly sqliteWasm: Size;
  /** JavaScript emitted but not fetched. */
  readonly unfetchedJs: Size;
  /** Emitted files holding binaryen (by its signatures or a source under its package). */
  readonly binaryen: readonly string[];
}

/** Rolldown's report of slow plugins (vite's worker transform, on a busy machine) is noise here. */
export const QUIET = { bundlerTimings: false };

/** Builds the demo app as its config says, into `outDir`, with hidden source maps. */
export async function buildApp(outDir: string): Promise<void> {
  await build({
    root: APP_ROOT,
    configFile: join(APP_ROOT, 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true, sourcemap: 'hidden', rolldownOptions: { checks: QUIET } },
    worker: { rolldownOptions: { checks: QUIET } },
  });
}

/** The npm packages Tandem's workspace packages depend on (an app gets them with Tandem). */
export async function tandemDependencies(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const folder of WORKSPACE) {
    const manifest = JSON.parse(await readFile(join(REPO_ROOT, folder, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
    };
    for (const name of Object.keys(manifest.dependencies ?? {})) {
      if (!name.startsWith('@tandem/')) names.add(name);
    }
  }
  return names;
}

/** The origin of a source path: an npm package, Tandem, the app, or the bundler. */
export function originOf(path: string): string {
  const modules = path.lastIndexOf(`${sep}node_modules${sep}`);
  if (modules >= 0) {
    const [scope, name] = path.slice(modules + `${sep}node_modules${sep}`.length).split(sep);
    return scope?.startsWith('@') ? `${scope}/${name}` : (scope ?? BUNDLER);
  }
  const inRepo = relative(REPO_ROOT, path);
  if (inRepo.startsWith('..')) return BUNDLER;
  const [top] = inRepo.split(sep);
  if (top !== undefined && WORKSPACE.has(top)) return TANDEM;
  return inRepo.startsWith(`reducers${sep}todo${sep}app${sep}`) ? APP : BUNDLER;
}

/**
 * The file a source map's source names. Vite writes a worker bundle's sources relative to the worker's
 * entry module rather than to the map, so a path that does not resolve from the map is tried from the
 * repository root; one found nowhere (a bundler's virtual module) is returned as written.
 */
function locate(mapDir: string, sourceRoot: string, source: string): string {
  const candidates = [
    resolve(mapDir, sourceRoot, source),
    join(REPO_ROOT, source.replace(/^(\.\.?\/)+/, '')),
  ];
  return candidates.find((candidate) => existsSync(candidate)) ?? source;
}

export function sizeOf(bytes: Uint8Array | string): Size {
  const buffer = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  return { bytes: buffer.byteLength, gzip: gzipSync(buffer, { level: 9 }).byteLength };
}

function add(a: Size | undefined, b: Size): Size {
  return { bytes: (a?.bytes ?? 0) + b.bytes, gzip: (a?.gzip ?? 0) + b.gzip };
}

async function measureJs(
  path: string,
  code: string,
): Promise<{ origins: Map<string, Size>; tandemAlone: number; sources: string[] }> {
  const whole = sizeOf(code);
  const mapText = await readFile(`${path}.map`, 'utf8').catch(() => undefined);
  // A file copied as an asset (sqlite-wasm's own workers) has no map.
  if (mapText === undefined) return { origins: new Map([[UNMAPPED, whole]]), tandemAlone: 0, sources: [] };
  const map = JSON.parse(mapText) as SourceMapV3;
  const sources = map.sources.map((source) => locate(dirname(path), map.sourceRoot ?? '', source));
  const texts = new Map<string, string>();
  for (const [index, pieces] of splitBySource(code, map)) {
    const origin = index < 0 ? BUNDLER : originOf(sources[index] ?? '');
    texts.set(origin, (texts.get(origin) ?? '') + pieces.join(''));
  }
  const origins = new Map<string, Size>();
  for (const [origin, text] of texts) {
    const bytes = Buffer.byteLength(text);
    origins.set(origin, { bytes, gzip: (whole.gzip * bytes) / whole.bytes });
  }
  const tandem = texts.get(TANDEM);
  return { origins, tandemAlone: tandem === undefined ? 0 : sizeOf(tandem).gzip, sources };
}

/**
 * Measures the build in `outDir` (but for the folders in `skip`); `fetched` holds the paths (from `/`)
 * the browser asked for.
 */
export async function measureApp(
  outDir: string,
  fetched: ReadonlySet<string>,
  skip: readonly string[] = [],
): Promise<AppSizes> {
  const files: BuiltFile[] = [];
  const binaryen: string[] = [];
  for (const entry of await readdir(outDir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || entry.name.endsWith('.map')) continue;
    const path = join(entry.parentPath, entry.name);
    const file = relative(outDir, path).split(sep).join('/');
    if (skip.some((folder) => file.startsWith(`${folder}/`))) continue;
    const bytes = await readFile(path);
    const text = bytes.toString('latin1');
    if (BINARYEN_SIGNATURES.some((signature) => text.includes(signature))) binaryen.push(file);
    if (!file.endsWith('.js')) {
      files.push({ file, ...sizeOf(bytes), origins: new Map(), tandemAlone: 0 });
      continue;
    }
    const js = await measureJs(path, bytes.toString('utf8'));
    if (js.sources.some((source) => source.includes(`${sep}binaryen${sep}`)))
      binaryen.push(`${file} (source map)`);
    files.push({ file, ...sizeOf(bytes), origins: js.origins, tandemAlone: js.tandemAlone });
  }
  files.sort((a, b) => a.file.localeCompare(b.file));
  const wasFetched = (f: BuiltFile) =>
    fetched.has(`/${f.file}`) || (f.file === 'index.html' && fetched.has('/'));
  const fetchedFiles = files.filter(wasFetched);
  const js = new Map<string, Size>();
  let tandemAlone = 0;
  for (const file of fetchedFiles.filter((f) => f.file.endsWith('.js'))) {
    for (const [origin, size] of file.origins) js.set(origin, add(js.get(origin), size));
    tandemAlone += file.tandemAlone;
  }
  const total = (list: readonly BuiltFile[]) =>
    list.reduce<Size>((sum, f) => add(sum, f), { bytes: 0, gzip: 0 });
  return {
    files,
    fetched: fetchedFiles,
    js,
    tandemAlone,
    sqliteWasm: total(files.filter((f) => /(^|\/)sqlite3[^/]*\.wasm$/.test(f.file))),
    unfetchedJs: total(files.filter((f) => f.file.endsWith('.js') && !wasFetched(f))),
    binaryen,
  };
}
