// The `tandem` command: `build [dir] [--out dir]`, `inspect <file.wasm>`, `--help` and `--version`,
// at the top and per command. Exit codes: 0 on success (help and version included), 1 on a problem
// with the reducer or the files given (message on stderr), 2 on a usage error (what is wrong, then
// the usage, on stderr).

import { readFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildReducer } from '../build.js';
import { SdkError } from '../errors.js';
import { SDK_ROOT, WORLD } from '../world.js';

const USAGE = `usage: tandem <command> [options]

commands:
  build [dir] [--out <dir>]  compile <dir>/assembly/index.ts (dir: . by default) into a reducer
                             component: reducer.wasm + manifest.json in <dir>/dist or --out
  inspect <file.wasm>        print a built reducer's world, exports, imports, schema version, size, hash

options:
  -h, --help     print this help; \`tandem <command> --help\` prints a command's
  -v, --version  print the SDK's version and the reducer world it builds for
`;

const BUILD_USAGE = `usage: tandem build [dir] [--out <dir>]

Compiles <dir>/assembly/index.ts (dir: the current folder by default) with AssemblyScript into a
WebAssembly component of ${WORLD}, and writes reducer.wasm and manifest.json.

  --out <dir>  where to write them (created if missing); <dir>/dist by default.
               Nothing else is written: the reducer's folder is only read.
  -h, --help   print this help
`;

const INSPECT_USAGE = `usage: tandem inspect <file.wasm>

Checks that a file is a Tandem reducer (a component of ${WORLD} the runtime loads) and prints its
world, schema version, size, SHA-256, prepared form, imports and exports.

  -h, --help  print this help
`;

class UsageError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
  }
}

/** `path` relative to the working directory when it is below it, else absolute. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? resolve(path) : rel;
}

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KB`;
}

function sdkVersion(): string {
  const parsed: unknown = JSON.parse(readFileSync(join(SDK_ROOT, 'package.json'), 'utf8'));
  const version =
    typeof parsed === 'object' && parsed !== null && 'version' in parsed ? parsed.version : undefined;
  return typeof version === 'string' ? version : 'unknown';
}

/** A command's `--out`/`--help`, and its positionals; unknown options and a missing value are usage errors. */
function parseCommand(command: string, argv: readonly string[], usage: string) {
  try {
    return parseArgs({
      args: [...argv],
      options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: true,
    });
  } catch (e) {
    // parseArgs says e.g. "Unknown option '--frob'. To specify a positional argument starting with a
    // '-', place it at the end of the command after '--', as in '-- "--frob"".
    const message = (e instanceof Error ? e.message : String(e)).split('. ')[0] ?? '';
    throw new UsageError(`tandem ${command}: ${message.charAt(0).toLowerCase()}${message.slice(1)}`, usage);
  }
}

async function build(argv: readonly string[]): Promise<void> {
  const { values, positionals } = parseCommand('build', argv, BUILD_USAGE);
  if (values.help === true) {
    process.stdout.write(BUILD_USAGE);
    return;
  }
  if (positionals.length > 1) {
    throw new UsageError(
      `tandem build: one reducer folder at a time (got ${positionals.length}: ${positionals.join(', ')})`,
      BUILD_USAGE,
    );
  }
  if (values.out === '') throw new UsageError('tandem build: --out needs a folder', BUILD_USAGE);
  const dir = positionals[0] ?? '.';
  const r = await buildReducer(dir, typeof values.out === 'string' ? { outDir: values.out } : {});
  const m = r.manifest;
  process.stdout.write(
    `built ${m.name} → ${shown(r.wasmPath)} (${kb(m.bytes)}, schema ${m.schemaVersion}, sha256 ${m.sha256.slice(0, 12)}…) in ${(r.milliseconds / 1000).toFixed(1)} s\n`,
  );
}

async function inspect(argv: readonly string[]): Promise<void> {
  const { values, positionals } = parseCommand('inspect', argv, INSPECT_USAGE);
  if (values.help === true) {
    process.stdout.write(INSPECT_USAGE);
    return;
  }
  if (values.out !== undefined) throw new UsageError("tandem inspect: unknown option '--out'", INSPECT_USAGE);
  const [file, ...more] = positionals;
  if (file === undefined) throw new UsageError('tandem inspect: which file? (a reducer.wasm)', INSPECT_USAGE);
  if (more.length > 0) {
    throw new UsageError(`tandem inspect: one file at a time (got ${positionals.length})`, INSPECT_USAGE);
  }
  const { inspectCommand } = await import('./inspect.js');
  await inspectCommand(file);
}

const COMMANDS: ReadonlyMap<string, (argv: readonly string[]) => Promise<void>> = new Map([
  ['build', build],
  ['inspect', inspect],
]);

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined) {
    process.stderr.write(USAGE);
    return 2;
  }
  if (command === '--help' || command === '-h' || command === 'help') {
    const usage = rest[0] === 'build' ? BUILD_USAGE : rest[0] === 'inspect' ? INSPECT_USAGE : USAGE;
    process.stdout.write(usage);
    return 0;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(`@tandem/reducer-sdk ${sdkVersion()} (builds ${WORLD})\n`);
    return 0;
  }
  const run = COMMANDS.get(command);
  try {
    if (run === undefined) {
      const what = command.startsWith('-') ? 'unknown option' : 'unknown command';
      throw new UsageError(
        `tandem: ${what} '${command}' (commands: ${[...COMMANDS.keys()].join(', ')})`,
        USAGE,
      );
    }
    await run(rest);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`${e.message}\n\n${e.usage}`);
      return 2;
    }
    if (e instanceof SdkError) {
      process.stderr.write(`tandem ${command}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
