// The `tandem` command: `build <dir>` and `inspect <file.wasm>`. Exits 0 on success, 1 on a reducer
// problem (message on stderr), 2 on a usage error.

import { isAbsolute, relative, resolve } from 'node:path';
import { buildReducer } from '../build.js';
import { SdkError } from '../errors.js';

const USAGE = `usage: tandem <command> <path>

  build <dir>          compile <dir>/assembly/index.ts into <dir>/dist/reducer.wasm + manifest.json
  inspect <file.wasm>  print a built reducer's world, exports, imports, schema version, size and hash
`;

/** `path` relative to the working directory when it is below it, else absolute. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? resolve(path) : rel;
}

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KB`;
}

async function build(dir: string): Promise<void> {
  const r = await buildReducer(dir);
  const m = r.manifest;
  process.stdout.write(
    `built ${m.name} → ${shown(r.wasmPath)} (${kb(m.bytes)}, schema ${m.schemaVersion}, sha256 ${m.sha256.slice(0, 12)}…) in ${(r.milliseconds / 1000).toFixed(1)} s\n`,
  );
}

export async function main(argv: readonly string[]): Promise<number> {
  const [command, path, ...rest] = argv;
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if ((command !== 'build' && command !== 'inspect') || path === undefined || rest.length > 0) {
    process.stderr.write(USAGE);
    return 2;
  }
  try {
    if (command === 'build') await build(path);
    else {
      const { inspectCommand } = await import('./inspect.js');
      await inspectCommand(path);
    }
    return 0;
  } catch (e) {
    if (e instanceof SdkError) {
      process.stderr.write(`tandem ${command}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
