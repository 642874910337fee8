// What a stranger does with Tandem outside this repository, as the root README's "Starting an app
// outside this repository" says: pack the packages, install the tarballs into a fresh folder under the
// OS's temporary folder, write the README's reducer there, build it with the installed `tandem`, run it
// under the installed `tandem-coordinator`, and confirm the README client's mutation through the
// installed `@tandem/host-node`. Nothing resolves into the repository: no links, no workspace, no
// TypeScript sources (npm's cache serves the third-party packages, so the install is quick offline).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { REPO_ROOT } from './support/vite-server.js';

const run = promisify(execFile);

const PACKAGES = ['runtime', 'migrations', 'reducer-sdk', 'host-node', 'host-browser', 'coordinator'];

/**
 * The environment of a user's shell: none of the npm_* variables `npm test` sets (they would point
 * npm at this repository's workspace) nor the suite's TANDEM_* settings.
 */
function userEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('npm_') && !k.startsWith('TANDEM_')),
  );
}

/** The fenced block after the README's marker `<!-- e2e/src/install-outside.test.ts: name -->`. */
async function readmeBlock(name: string): Promise<string> {
  const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
  const marker = readme.indexOf(`<!-- e2e/src/install-outside.test.ts: ${name} -->`);
  expect(marker, `README marker for the ${name} block`).toBeGreaterThan(0);
  const start = readme.indexOf('\n', readme.indexOf('```', marker)) + 1;
  return readme.slice(start, readme.indexOf('\n```', start) + 1);
}

interface Packed {
  readonly name: string;
  readonly filename: string;
  readonly files: readonly { readonly path: string }[];
}

let root: string;
let app: string;
let packed: Packed[];
let install: { stdout: string; stderr: string; seconds: number };

beforeAll(async () => {
  for (const pkg of PACKAGES) {
    await lstat(join(REPO_ROOT, pkg, 'dist', 'index.js')).catch(() => {
      throw new Error(`${pkg}/dist is missing: run \`npm run build\` first (npm test does)`);
    });
  }
  root = await mkdtemp(join(tmpdir(), 'tandem-install-'));
  const tarballs = join(root, 'tarballs');
  app = join(root, 'app');
  await mkdir(tarballs);
  await mkdir(app);
  const pack = await run(
    'npm',
    ['pack', ...PACKAGES.map((p) => `./${p}`), '--pack-destination', tarballs, '--ignore-scripts', '--json'],
    { cwd: REPO_ROOT, env: userEnv(), maxBuffer: 64 << 20 },
  );
  packed = JSON.parse(pack.stdout) as Packed[];
  await writeFile(
    join(app, 'package.json'),
    `${JSON.stringify({ name: 'my-app', private: true, type: 'module' })}\n`,
  );
  const started = performance.now();
  const installed = await run(
    'npm',
    [
      'install',
      ...packed.map((p) => join(tarballs, p.filename)),
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
    ],
    { cwd: app, env: userEnv(), maxBuffer: 64 << 20 },
  );
  install = { ...installed, seconds: (performance.now() - started) / 1000 };
}, 300_000);

afterAll(async () => {
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

test('each tarball holds what runs (dist, bin, assembly/, wit/, types) and no tests', () => {
  const files = new Map(packed.map((p) => [p.name, p.files.map((f) => f.path)]));
  expect([...files.keys()].sort()).toEqual(PACKAGES.map((p) => `@tandem/${p}`).sort());
  for (const [name, paths] of files) {
    expect(paths, name).toContain('package.json');
    expect(paths, name).toContain('dist/index.js');
    expect(paths, name).toContain('dist/index.d.ts');
    expect(
      paths.filter((p) => /\.test\.|\.test-helpers\.|(^|\/)testing(\/|\.)|tsbuildinfo/.test(p)),
      name,
    ).toEqual([]);
  }
  expect(files.get('@tandem/reducer-sdk')).toEqual(
    expect.arrayContaining(['bin/tandem.js', 'assembly/index.ts', 'assembly/glue.ts', 'wit/reducer.wit']),
  );
  expect(files.get('@tandem/coordinator')).toEqual(
    expect.arrayContaining(['bin/tandem-coordinator.js', 'dist/document-worker.js']),
  );
  expect(files.get('@tandem/host-browser')).toEqual(
    expect.arrayContaining(['dist/owner-worker.js', 'dist/broker.js', 'dist/react/index.js']),
  );
});

test('the install holds real folders naming plain versions; the only engine warning is sqlite-wasm’s, and only below Node 22', async () => {
  console.log(`npm install of the ${packed.length} tarballs: ${install.seconds.toFixed(1)} s`);
  for (const pkg of PACKAGES) {
    const dir = join(app, 'node_modules', '@tandem', pkg);
    expect((await lstat(dir)).isSymbolicLink(), pkg).toBe(false);
    expect(relative(app, await realpath(dir)).startsWith('..'), pkg).toBe(false);
    const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as {
      private?: boolean;
      dependencies?: Record<string, string>;
    };
    expect(manifest.private, pkg).toBeUndefined();
    for (const [dep, range] of Object.entries(manifest.dependencies ?? {})) {
      expect(range, `${pkg} → ${dep}`).toMatch(/^\^?\d+\.\d+\.\d+(-[\w.]+)?$/);
    }
  }
  const warned = [...install.stderr.matchAll(/EBADENGINE +package: '([^']+)'/g)].map((m) => m[1]);
  const major = Number(process.versions.node.split('.')[0]);
  expect(warned).toEqual(major < 22 ? ['@sqlite.org/sqlite-wasm@3.54.1-build1'] : []);
  expect(install.stderr).not.toMatch(/npm (error|ERR)/);
});

test('the README’s reducer builds with the installed tandem, runs under the installed tandem-coordinator, and the README’s client gets its mutation confirmed', async () => {
  await mkdir(join(app, 'assembly'));
  await writeFile(join(app, 'assembly', 'index.ts'), await readmeBlock('reducer'));
  const before = (await readdir(app)).sort();
  // `npx --no`: the installed bin or nothing (an unknown `tandem` would otherwise be fetched).
  const built = await run('npx', ['--no', 'tandem', 'build'], { cwd: app, env: userEnv() });
  expect(built.stdout).toMatch(/^built my-app → dist\/reducer\.wasm \(/);
  expect((await readdir(app)).sort()).toEqual([...before, 'dist'].sort());
  expect((await readdir(join(app, 'dist'))).sort()).toEqual(['manifest.json', 'reducer.wasm']);

  const coordinator = spawn(
    process.execPath,
    [
      join(app, 'node_modules', '.bin', 'tandem-coordinator'),
      '--reducer',
      'dist/reducer.wasm',
      '--data',
      './coordinator-data',
      '--port',
      '0',
    ],
    { cwd: app, env: userEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  try {
    const syncUrl = await listening(coordinator);
    const client = (await readmeBlock('client')).replace("'ws://127.0.0.1:8787/sync'", `'${syncUrl}'`);
    expect(client).toContain(syncUrl);
    await writeFile(join(app, 'client.mjs'), client);
    const first = await run(process.execPath, ['client.mjs'], { cwd: app, env: userEnv() });
    expect(first.stdout).toBe("{ lsn: 0, status: 'confirmed' }\n[ { name: 'clicks', n: 1 } ]\n");
    // Again, from the client's own folder: its next lsn, and the count the coordinator holds.
    const second = await run(process.execPath, ['client.mjs'], { cwd: app, env: userEnv() });
    expect(second.stdout).toBe("{ lsn: 1, status: 'confirmed' }\n[ { name: 'clicks', n: 2 } ]\n");
  } finally {
    const exited = new Promise((resolve) => coordinator.once('exit', resolve));
    coordinator.kill('SIGTERM');
    await exited;
  }
}, 240_000);

/** The sync URL the coordinator prints once it listens; its output if it exits first. */
function listening(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const seen = (chunk: Buffer) => {
      output += chunk.toString();
      const found = /sync at (ws:\/\/\S+\/sync)/.exec(output);
      if (found?.[1] !== undefined) resolve(found[1]);
    };
    child.stdout?.on('data', seen);
    child.stderr?.on('data', seen);
    child.once('exit', (code) => reject(new Error(`tandem-coordinator exited with ${code}:\n${output}`)));
  });
}
