// Enforces DESIGN.md §2: dependencies between packages point one way, and no package reaches into
// another's files (only `@tandem/<pkg>` and the subpaths it exports).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

// Which @tandem packages each package may depend on.
const ALLOWED = {
  '@tandem/runtime': [],
  '@tandem/migrations': ['@tandem/runtime'],
  '@tandem/reducer-sdk': ['@tandem/runtime'],
  '@tandem/host-node': ['@tandem/runtime', '@tandem/migrations'],
  '@tandem/host-browser': ['@tandem/runtime', '@tandem/migrations'],
  '@tandem/reducer-todo': ['@tandem/reducer-sdk', '@tandem/host-browser'],
  '@tandem/coordinator': ['@tandem/runtime', '@tandem/migrations', '@tandem/host-node'],
  '@tandem/e2e': [
    '@tandem/runtime',
    '@tandem/reducer-sdk',
    '@tandem/migrations',
    '@tandem/host-node',
    '@tandem/host-browser',
    '@tandem/coordinator',
  ],
  '@tandem/bench': [
    '@tandem/runtime',
    '@tandem/reducer-sdk',
    '@tandem/migrations',
    '@tandem/host-node',
    '@tandem/host-browser',
    '@tandem/coordinator',
  ],
};

const root = JSON.parse(readFileSync('package.json', 'utf8'));
const manifests = new Map(
  root.workspaces.map((dir) => {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    return [pkg.name, pkg];
  }),
);

/** The keys of a workspace package's `exports` (none for a package outside the workspace). */
function exportsOf(name) {
  return Object.keys(manifests.get(name)?.exports ?? {});
}

/**
 * Whether an exports key (`./x` or a `./x/*` pattern) covers `path`. A `./x/*` pattern covers the folder
 * `./x` too: asc resolves `@tandem/reducer-sdk/assembly` to that folder's index.
 */
function matches(key, path) {
  const star = key.indexOf('*');
  if (star < 0) return key === path;
  if (key.endsWith('/*') && path === key.slice(0, -2)) return true;
  return path.startsWith(key.slice(0, star)) && path.endsWith(key.slice(star + 1));
}
const problems = [];

function sources(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (['node_modules', 'dist', 'build'].includes(name)) return [];
    if (statSync(path).isDirectory()) return sources(path);
    // .tsx too: the app's components and the React hooks import packages like any module.
    return /\.(ts|tsx|mts|cts|mjs|cjs|js|jsx)$/.test(name) ? [path] : [];
  });
}

for (const dir of root.workspaces) {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const allowed = ALLOWED[pkg.name];
  if (allowed === undefined) {
    problems.push(`${dir}: ${pkg.name} has no entry in scripts/check-layers.mjs`);
    continue;
  }
  const declared = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).filter((d) =>
    d.startsWith('@tandem/'),
  );
  for (const dep of declared) {
    if (!allowed.includes(dep))
      problems.push(`${pkg.name} depends on ${dep}, against the layering of DESIGN.md §2`);
  }
  for (const file of sources(dir)) {
    // `from '…'`, a side-effect `import '…'` and a dynamic `import('…')`.
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(
      /(?:from|import)\s*\(?\s*['"](@tandem\/[^'"]+)['"]/g,
    )) {
      const [, name, subpath] = /^(@tandem\/[^/]+)(\/.*)?$/.exec(spec) ?? [];
      if (name !== pkg.name && !allowed.includes(name))
        problems.push(`${file} imports ${spec}: not a dependency it may have`);
      // A subpath is public when the package exports it (`./prepare`, or a pattern like `./wit/*`).
      const published = subpath === undefined || exportsOf(name).some((key) => matches(key, `.${subpath}`));
      if (!published) {
        problems.push(`${file} imports ${spec}: a deep import (use the package's exports)`);
      }
    }
  }
}

if (problems.length > 0) {
  console.error(`✗ package layering:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`✓ package layering: ${root.workspaces.length} packages follow DESIGN.md §2`);
