import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';

// One config for the whole repo: packages resolve each other through the `source` export
// condition, so tests run against TypeScript sources without a build of their dependencies.

/**
 * Files whose claims measure the machine (a process's RSS, how long a client may go without a
 * connection under SIGKILLs): they run last, one at a time, with no other test file beside them.
 */
const ALONE = ['coordinator/src/memory.test.ts', 'e2e/src/chaos.test.ts'].flatMap((path) => [
  path,
  // The same file seen from its package's folder, where the package's `npm test` runs.
  path.slice(path.indexOf('/') + 1),
]);

const ROOT = fileURLToPath(new URL('.', import.meta.url));

/**
 * Test files share one process per worker (isolate: false): the module graph they import (the runtime
 * from source, vite, playwright-core, TypeBox's schemas) is evaluated once per worker rather than once
 * per file. That import was the suite's largest waste on this 2-core machine: 503 s summed over the
 * files of CI's run of 68e8a39 (707 s wall). Whole vitest run, isolated but for runtime, migrations
 * and coordinator/authority -> shared: wall 1864 -> 1055 s, CPU 1077 -> 784 s, import 507 -> 42 s
 * (load 15-21 and 5-18, one run each). A shared process's files run one after another, never side by
 * side, and none of them claims what a fresh process does: those that start one (a coordinator, a node
 * client, a browser) start it themselves. Files that do claim it, or that change what the process holds for the
 * next file (module registry, globals), stay isolated (FRESH_PROCESS); ALONE files also run apart.
 */
const FRESH_PROCESS = new Set([
  'runtime/src/sqlite/sqlite.test.ts',
  // Resets the module registry and stubs `window` and `Worker` around each test.
  'host-browser/src/owner-prestart.test.ts',
]);

/** The repository's test files (as the projects' include glob finds them), relative to ROOT. */
function repoTestFiles(folder = ''): string[] {
  return readdirSync(join(ROOT, folder), { withFileTypes: true }).flatMap((entry) => {
    const path = folder === '' ? entry.name : `${folder}/${entry.name}`;
    if (entry.isDirectory()) {
      return ['node_modules', 'dist', '.git'].includes(entry.name) ? [] : repoTestFiles(path);
    }
    return /(^|\/)src\/.*\.test\.ts$/.test(path) ? [path] : [];
  });
}

/** The files as the include globs see them: relative to where vitest runs (root or a package). */
function testFiles(filter: (file: string) => boolean): string[] {
  return (
    repoTestFiles()
      .filter(filter)
      .map((file) => relative(process.cwd(), join(ROOT, file)))
      // From another package's folder (its `npm test`), only that package's own files.
      .filter((file) => !file.startsWith('..'))
  );
}
const SHARED = testFiles((file) => !FRESH_PROCESS.has(file) && !ALONE.includes(file));
const FRESH = testFiles((file) => FRESH_PROCESS.has(file));

function project(name: string, test: TestProjectInlineConfiguration['test']): TestProjectInlineConfiguration {
  return {
    extends: false,
    resolve: { conditions: ['source'] },
    ssr: { resolve: { conditions: ['source'], externalConditions: ['source'] } },
    test: {
      name,
      include: ['**/src/**/*.test.ts'],
      exclude: ['**/node_modules/**', '**/dist/**'],
      testTimeout: 60_000,
      hookTimeout: 120_000,
      pool: 'forks',
      // Coordinators started by tests log warnings and errors only (tests that check logs inject their own).
      env: { TANDEM_LOG_LEVEL: 'warn' },
      ...test,
    },
  };
}

export default defineConfig({
  test: {
    // A folder where the run's processes share prepared reducers (TANDEM_PREPARED_CACHE).
    globalSetup: [fileURLToPath(new URL('scripts/vitest-global-setup.ts', import.meta.url))],
    projects: [
      // Two files at a time on this 2-core machine: much of a file's time is spent waiting (for a
      // browser, a child process, a socket), and the other file uses it.
      project('shared', { include: SHARED, isolate: false, maxWorkers: 2, sequence: { groupOrder: 0 } }),
      project('fresh', { include: FRESH, maxWorkers: 2, sequence: { groupOrder: 1 } }),
      project('alone', { include: ALONE, maxWorkers: 1, sequence: { groupOrder: 2 } }),
    ],
  },
});
