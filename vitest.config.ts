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
 * Unit tests whose files claim nothing about the process they run in: they share one process per
 * worker (isolate: false), so the runtime's module graph is imported once per worker rather than once
 * per file. Measured on runtime/src + migrations/src (49 files, load average ~21): CPU 149 -> 76 s,
 * wall 298 -> 143 s, import 165 -> 34 s. Files that claim what a fresh process does stay isolated.
 */
const SHARED_FOLDERS = ['runtime/src', 'migrations/src', 'coordinator/src/authority'];
const FRESH_PROCESS = new Set(['runtime/src/sqlite/sqlite.test.ts']);
/** The shared files as the include globs see them: relative to where vitest runs (root or a package). */
const SHARED = SHARED_FOLDERS.flatMap((folder) =>
  readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' })
    .map((file) => `${folder}/${file}`)
    .filter((file) => file.endsWith('.test.ts') && !FRESH_PROCESS.has(file))
    .map((file) => relative(process.cwd(), join(ROOT, file)))
    // From another package's folder (its `npm test`), none of them: that run stays in its folder.
    .filter((file) => !file.startsWith('..')),
);

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
      project('tests', {
        exclude: ['**/node_modules/**', '**/dist/**', ...ALONE, ...SHARED],
        maxWorkers: 2,
        sequence: { groupOrder: 1 },
      }),
      project('alone', { include: ALONE, maxWorkers: 1, sequence: { groupOrder: 2 } }),
    ],
  },
});
