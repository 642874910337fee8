// Runs a TypeScript module of this repository in the Node process that runs this file, the way vitest
// does: transformed by vite, workspace packages resolved to their sources. Tests use it to start a
// child process on the code under test without a build: `node run-ts.mjs <module.ts> [args…]`.
import { fileURLToPath } from 'node:url';
import { runnerImport } from 'vite';

const source = { conditions: ['source'] };
await runnerImport(process.argv[2], {
  root: fileURLToPath(new URL('../../..', import.meta.url)),
  configFile: false,
  logLevel: 'error',
  resolve: source,
  ssr: { resolve: { ...source, externalConditions: ['source'] } },
});
