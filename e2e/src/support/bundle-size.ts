// What a browser app built on Tandem ships, measured on a real `vite build` of its page and of every
// worker it starts (the document's owner worker, the broker SharedWorker). Used by the bundle test and
// by the bench, so both report the same figures.
//
// Sizes are gzip level 9 of each file. JavaScript is attributed to its origin (a Tandem package, an
// npm package, the app's own code): the build puts each origin in chunks of its own where the bundler
// allows, and a chunk that still mixes origins is split in proportion to its modules' rendered lengths
// (approximate: those are measured before minification). Workers are separate bundles, so code both
// the page and a worker use is counted in each, as a browser downloads it.
import { readdir, readFile } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type Plugin } from 'vite';
import { REPO_ROOT } from './vite-server.js';

export interface Size {
  readonly bytes: number;
  readonly gzip: number;
}

export interface BundleFile extends Size {
  /** Relative to the output folder. */
  readonly file: string;
  /** What the file holds, by origin (`@tandem/runtime`, `react-dom`, `app`), for JavaScript. */
  readonly origins: Readonly<Record<string, Size>>;
}

export interface BundleReport {
  readonly files: readonly BundleFile[];
  /** JavaScript of the `@tandem/*` packages: Tandem's own code. */
  readonly tandemJs: Size;
  /** JavaScript of npm packages (and the bundler's runtime), by package. */
  readonly dependencyJs: Readonly<Record<string, Size>>;
  /** The app's own JavaScript (neither Tandem nor a package). */
  readonly appJs: Size;
  /**
   * JavaScript emitted but never fetched: sqlite-wasm's own workers (its Worker1 API and its OPFS
   * VFS's proxy), which vite emits wherever the library's JavaScript is bundled, because it names them
   * with `new URL()`. None since the runtime loads sqlite3.wasm itself (runtime sqlite/wasm-instance.ts).
   */
  readonly unusedJs: Size;
  /** Every JavaScript file a browser may fetch (`unusedJs` left out). */
  readonly js: Size;
  /** SQLite's WebAssembly (`sqlite3.wasm`). */
  readonly sqliteWasm: Size;
  /** The prepared reducer the coordinator serves, when given (fetched at run time, not bundled). */
  readonly reducer?: Size;
  /** Everything else (HTML, CSS, other assets). */
  readonly other: Size;
}

export interface BuildOptions {
  /** The folder holding the page's index.html. */
  readonly root: string;
  readonly outDir: string;
  /** The app's own vite config, when it has one (its plugins, e.g. JSX); ours is merged in. */
  readonly configFile?: string;
  /** The prepared reducer the app will load, to count it apart. */
  readonly reducer?: Uint8Array;
}

const APP = 'app';
const BUNDLER = 'bundler runtime';
const UNUSED = /sqlite3-(worker1|opfs-async-proxy)/;
/** A workspace folder → its package name, for modules read from their sources. */
const WORKSPACE: ReadonlyMap<string, string> = new Map([
  ['runtime', '@tandem/runtime'],
  ['migrations', '@tandem/migrations'],
  ['host-browser', '@tandem/host-browser'],
  ['host-node', '@tandem/host-node'],
  ['coordinator', '@tandem/coordinator'],
  ['reducer-sdk', '@tandem/reducer-sdk'],
]);

/** The origin of a module id: an npm package, a Tandem package, the bundler, or the app. */
export function originOf(id: string): string {
  const path = id.replace(/^\0/, '').split('?')[0] ?? '';
  if (!isAbsolute(path)) return BUNDLER;
  const modules = path.lastIndexOf(`${sep}node_modules${sep}`);
  if (modules >= 0) {
    const [scope, name] = path.slice(modules + `${sep}node_modules${sep}`.length).split(sep);
    return scope?.startsWith('@') ? `${scope}/${name}` : (scope ?? APP);
  }
  const [top] = relative(REPO_ROOT, path).split(sep);
  return (top !== undefined && WORKSPACE.get(top)) || APP;
}

/** The chunk a module goes to: one per origin (names stay path-safe). */
function chunkName(id: string): string {
  return `origin-${originOf(id).replace(/[^\w-]/g, '_')}`;
}

/** Builds the page with vite (workspace packages from their sources, as the app builds) and measures it. */
export async function buildAndMeasure(options: BuildOptions): Promise<BundleReport> {
  /** Output file → rendered length by origin (chunks), or its one origin (emitted assets). */
  const shares = new Map<string, Map<string, number>>();
  const collect: Plugin = {
    name: 'tandem-bundle-origins',
    generateBundle(_options, bundle) {
      for (const output of Object.values(bundle)) {
        // A worker's chunks come back as assets of the page's bundle: the worker's build saw them first.
        if (shares.has(output.fileName)) continue;
        const lengths = new Map<string, number>();
        if (output.type === 'chunk') {
          for (const [id, module] of Object.entries(output.modules)) {
            const origin = originOf(id);
            lengths.set(origin, (lengths.get(origin) ?? 0) + module.renderedLength);
          }
        } else {
          const original = output.originalFileNames[0];
          lengths.set(original === undefined ? APP : originOf(original), 1);
        }
        shares.set(output.fileName, lengths);
      }
    },
  };
  const splitting = { codeSplitting: { groups: [{ name: chunkName, debugName: 'origins' }] } };
  // Rolldown's report of slow plugins (vite's worker transform, on a busy machine) is noise here.
  const checks = { bundlerTimings: false };
  await build({
    root: options.root,
    configFile: options.configFile ?? false,
    logLevel: 'warn',
    resolve: { conditions: ['source', 'module', 'browser', 'development|production'] },
    plugins: [collect],
    worker: { format: 'es', plugins: () => [collect], rolldownOptions: { checks, output: splitting } },
    build: {
      outDir: options.outDir,
      emptyOutDir: true,
      target: 'es2022',
      reportCompressedSize: false,
      rolldownOptions: { checks, output: splitting },
    },
  });
  return measure(options.outDir, shares, options.reducer);
}

async function measure(
  outDir: string,
  shares: ReadonlyMap<string, ReadonlyMap<string, number>>,
  reducer: Uint8Array | undefined,
): Promise<BundleReport> {
  const files: BundleFile[] = [];
  for (const entry of await readdir(outDir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const file = relative(outDir, path).split(sep).join('/');
    const size = sizeOf(await readFile(path));
    const origins: Record<string, Size> = {};
    if (file.endsWith('.js')) {
      const lengths = shares.get(file) ?? new Map([[APP, 1]]);
      const total = [...lengths.values()].reduce((a, b) => a + b, 0) || 1;
      for (const [origin, length] of lengths) {
        const share = length / total;
        origins[UNUSED.test(file) ? 'unused' : origin] = {
          bytes: Math.round(size.bytes * share),
          gzip: Math.round(size.gzip * share),
        };
      }
    }
    files.push({ file, origins, ...size });
  }
  files.sort((a, b) => a.file.localeCompare(b.file));
  const byOrigin = new Map<string, Size>();
  for (const file of files) {
    for (const [origin, size] of Object.entries(file.origins)) {
      byOrigin.set(origin, sum([byOrigin.get(origin) ?? { bytes: 0, gzip: 0 }, size]));
    }
  }
  const pick = (test: (origin: string) => boolean) =>
    sum([...byOrigin].filter(([origin]) => test(origin)).map(([, size]) => size));
  const dependency = (o: string) => !o.startsWith('@tandem/') && o !== APP && o !== 'unused';
  return {
    files,
    tandemJs: pick((o) => o.startsWith('@tandem/')),
    dependencyJs: Object.fromEntries([...byOrigin].filter(([o]) => dependency(o))),
    appJs: pick((o) => o === APP),
    unusedJs: pick((o) => o === 'unused'),
    js: sum(files.filter((f) => f.file.endsWith('.js') && !UNUSED.test(f.file))),
    sqliteWasm: sum(files.filter((f) => /(^|\/)sqlite3[^/]*\.wasm$/.test(f.file))),
    ...(reducer && { reducer: sizeOf(reducer) }),
    other: sum(files.filter((f) => !f.file.endsWith('.js') && !f.file.endsWith('.wasm'))),
  };
}

export function sizeOf(bytes: Uint8Array): Size {
  return { bytes: bytes.byteLength, gzip: gzipSync(bytes, { level: 9 }).byteLength };
}

function sum(sizes: readonly Size[]): Size {
  return sizes.reduce((a, s) => ({ bytes: a.bytes + s.bytes, gzip: a.gzip + s.gzip }), { bytes: 0, gzip: 0 });
}

const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;

/** The report as lines: gzipped sizes, raw ones in parentheses. */
export function formatBundleReport(report: BundleReport): string {
  const line = (label: string, s: Size) =>
    `${label.padEnd(36)} ${kb(s.gzip).padStart(9)} gz (${kb(s.bytes)})`;
  return [
    line("Tandem's own JS (@tandem/*)", report.tandemJs),
    ...Object.entries(report.dependencyJs)
      .sort(([, a], [, b]) => b.gzip - a.gzip)
      .map(([name, s]) => line(`JS of ${name}`, s)),
    line("the app's own JS", report.appJs),
    line('all JS a browser may fetch', report.js),
    line("sqlite-wasm's unused workers (JS)", report.unusedJs),
    line('sqlite3.wasm', report.sqliteWasm),
    ...(report.reducer ? [line('the prepared reducer (fetched)', report.reducer)] : []),
    line('other files', report.other),
  ].join('\n');
}
