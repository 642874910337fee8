// `tandem-coordinator`: the coordinator as a process. Arguments are checked before anything starts,
// each problem named with the flag it concerns; SIGINT/SIGTERM close it gracefully (sockets closed,
// documents synced) before the process exits, and a close that fails or hangs still ends it.
import { readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { MIN_PROTOCOL_VERSION, PROTOCOL_VERSION, ReducerLoadError, WORLD_PACKAGE } from '@tandem/runtime';
import { loadAuthorize } from './auth-module.js';
import { deployMain, isDeployCommand, isMigrateCommand, migrateMain } from './deploy-command.js';
import { createLog, isLogLevel, LOG_LEVELS } from './log.js';
import { isRecoverCommand, recoverMain } from './recover.js';
import { type Coordinator, type CoordinatorOptions, startCoordinator } from './server.js';
import { isPostgresUrl } from './store/coordinator-store.js';

export const USAGE = `usage: tandem-coordinator --reducer <file.wasm> [--data ./data] [--port 8787] [--host 127.0.0.1] [--static <dir>]

  --reducer <file>  the reducer component (tandem build's reducer.wasm); required
  --data <dir>      where documents are stored (created if missing); ./data by default
  --store <url>     a PostgreSQL store instead of --data: postgres://user[:password]@host[:port]/database
                    (its tables are created or upgraded at start; see the README)
  --lease-ms <ms>   with --store: how long a document's lease lasts unless renewed; 10000 by default
  --public-url <url>  with --store: where clients reach this coordinator (http://host:port), recorded
                    with its leases so the others redirect clients here; the listening URL by default
  --port <n>        the port to listen on (0 picks a free one); 8787 by default
  --host <name>     the interface to listen on; 127.0.0.1 by default (0.0.0.0 for every interface)
  --static <dir>    a folder to serve as static files (the web app)
  --auth <module>   a module whose default export (or \`authorize\`) is the authorize hook:
                    (docId, token, timelineId) => boolean | Promise<boolean>, asked on hello and push
  --max-open-documents <n>  documents kept open at most (idle ones close first); 256 by default
  --idle-document-ms <ms>   a document without connections this long closes; 60000 by default
  --workers <n>             document worker threads; one per core by default
  --checkpoint-every <n>    frames between checkpoints (a takeover or an open reads the frames since
                            the last one); 1000 by default
  --log-level <level>       fatal, error, warn, info, debug, trace or silent (JSON lines on stderr);
                            TANDEM_LOG_LEVEL or info by default
  --operator-token-file <file>  the operator token deploys must carry (first line of the file);
                            TANDEM_OPERATOR_TOKEN by default; without either, deploys are refused
  -v, --version             print the coordinator's version, sync protocol and reducer world

       tandem-coordinator deploy <file.wasm> [--url http://127.0.0.1:8787]   (see deploy --help)
       tandem-coordinator migrate [--url http://127.0.0.1:8787]               (see migrate --help)
       tandem-coordinator recover <docId> [--data ./data]                      (see recover --help)
`;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The coordinator options the arguments ask for; a UsageError names what is wrong. */
export async function parseArguments(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<CoordinatorOptions & { readonly reducer: string }> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        reducer: { type: 'string' },
        data: { type: 'string' },
        store: { type: 'string' },
        'lease-ms': { type: 'string' },
        'public-url': { type: 'string' },
        port: { type: 'string', default: '8787' },
        host: { type: 'string', default: '127.0.0.1' },
        static: { type: 'string' },
        auth: { type: 'string' },
        'max-open-documents': { type: 'string' },
        'idle-document-ms': { type: 'string' },
        workers: { type: 'string' },
        'checkpoint-every': { type: 'string' },
        'log-level': { type: 'string' },
        'operator-token-file': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const text = (name: string): string | undefined => {
    const value = values[name];
    if (value === '') throw new UsageError(`--${name} needs a value`);
    return typeof value === 'string' ? value : undefined;
  };
  const reducer = text('reducer');
  if (reducer === undefined) throw new UsageError('--reducer <file.wasm> is required');
  if (!(await isFile(reducer))) throw new UsageError(`--reducer ${reducer}: no such file`);
  const portText = text('port') ?? '';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) {
    throw new UsageError(`--port ${portText}: expected an integer from 0 to 65535`);
  }
  const staticDir = text('static');
  if (staticDir !== undefined && !(await isFolder(staticDir))) {
    throw new UsageError(`--static ${staticDir}: no such folder`);
  }
  const maxOpenDocuments = count('max-open-documents', text('max-open-documents'), 1);
  const idleDocumentMs = count('idle-document-ms', text('idle-document-ms'), 0);
  const workers = count('workers', text('workers'), 1);
  const checkpointEvery = count('checkpoint-every', text('checkpoint-every'), 1);
  const logLevel = text('log-level');
  if (logLevel !== undefined && !isLogLevel(logLevel)) {
    throw new UsageError(`--log-level ${logLevel}: expected one of ${LOG_LEVELS.join(', ')}`);
  }
  const store = text('store');
  if (store !== undefined && text('data') !== undefined) {
    throw new UsageError('--store and --data: documents are kept in one of them, give only one');
  }
  if (store !== undefined && !isPostgresUrl(store)) {
    throw new UsageError(`--store ${store}: expected a postgres:// URL`);
  }
  const leaseMs = count('lease-ms', text('lease-ms'), 300);
  if (leaseMs !== undefined && store === undefined) throw new UsageError('--lease-ms needs --store');
  const publicUrl = text('public-url');
  if (publicUrl !== undefined && store === undefined) throw new UsageError('--public-url needs --store');
  if (publicUrl !== undefined && !/^https?:\/\/[^\s/]+/.test(publicUrl)) {
    throw new UsageError(`--public-url ${publicUrl}: expected an http:// or https:// URL`);
  }
  const operatorToken = await readOperatorToken(text('operator-token-file'), env);
  const auth = text('auth');
  const authorize = auth === undefined ? undefined : await loadAuthorize(auth);
  return {
    reducer,
    ...(store === undefined ? { dataDir: text('data') ?? './data' } : { store }),
    ...(leaseMs !== undefined && { leaseMs }),
    ...(publicUrl !== undefined && { publicUrl }),
    port,
    host: text('host') ?? '127.0.0.1',
    ...(staticDir !== undefined && { staticDir }),
    ...(authorize !== undefined && { authorize }),
    ...(maxOpenDocuments !== undefined && { maxOpenDocuments }),
    ...(idleDocumentMs !== undefined && { idleDocumentMs }),
    ...(workers !== undefined && { workers }),
    ...(checkpointEvery !== undefined && { checkpointEvery }),
    ...(logLevel !== undefined && { log: createLog({ level: logLevel }) }),
    ...(operatorToken !== undefined && { operatorToken }),
  };
}

/** The operator token: the first line of `file`, else TANDEM_OPERATOR_TOKEN; undefined for none. */
async function readOperatorToken(
  file: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<string | undefined> {
  let token = env.TANDEM_OPERATOR_TOKEN;
  let where = 'TANDEM_OPERATOR_TOKEN';
  if (file !== undefined) {
    const text = await readFile(file, 'utf8').catch((error: unknown) => {
      throw new UsageError(
        `--operator-token-file ${file}: ${error instanceof Error ? error.message : error}`,
      );
    });
    token = text.split('\n')[0]?.trim();
    where = `--operator-token-file ${file}`;
  }
  if (token === undefined || (file === undefined && token === '')) return undefined;
  // A guessable token would hand the documents' code to whoever guesses it.
  if (token.length < 16) throw new UsageError(`${where}: an operator token has at least 16 characters`);
  return token;
}

/** Runs the coordinator until SIGINT or SIGTERM; resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  if (isRecoverCommand(argv)) return recoverMain(argv);
  if (isDeployCommand(argv)) return deployMain(argv);
  if (isMigrateCommand(argv)) return migrateMain(argv);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (argv.includes('--version') || argv.includes('-v')) {
    process.stdout.write(`${VERSION_LINE}\n`);
    return 0;
  }
  let coordinator: Coordinator;
  let reducer: string | undefined;
  try {
    const options = await parseArguments(argv);
    reducer = options.reducer;
    coordinator = await startCoordinator(options);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // The loader's reasons speak of "the reducer": say which file, and that it is the one refused.
    const what =
      error instanceof ReducerLoadError && reducer !== undefined
        ? `cannot load the reducer ${reducer} (${error.kind}): ${message}`
        : message;
    process.stderr.write(`tandem-coordinator: ${what}\n${error instanceof UsageError ? USAGE : ''}`);
    return 2;
  }
  process.stdout.write(
    `tandem-coordinator listening on ${coordinator.url} (sync at ${coordinator.url.replace(/^http/, 'ws')}/sync)\n`,
  );
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  process.stdout.write(`tandem-coordinator: ${signal}, closing\n`);
  // A close that fails or hangs, or a second signal, still ends the process (with a non-zero code).
  const forced = new Promise<number>((resolve) => {
    process.once('SIGINT', () => resolve(1));
    process.once('SIGTERM', () => resolve(1));
    setTimeout(() => {
      process.stderr.write(`tandem-coordinator: not closed after ${CLOSE_TIMEOUT_MS} ms, exiting\n`);
      resolve(1);
    }, CLOSE_TIMEOUT_MS).unref();
  });
  const closed = coordinator.close().then(
    () => 0,
    (error: unknown) => {
      process.stderr.write(
        `tandem-coordinator: close failed: ${error instanceof Error ? error.message : error}\n`,
      );
      return 1;
    },
  );
  return Promise.race([closed, forced]);
}

/** What `--version` prints: the package, the sync protocol (and the oldest client served), the world. */
export const VERSION_LINE = `@tandem/coordinator ${packageVersion()} (sync protocol v${PROTOCOL_VERSION}, clients from v${MIN_PROTOCOL_VERSION}; runs ${WORLD_PACKAGE} reducers)`;

function packageVersion(): string {
  // src/ and dist/ both sit beside package.json.
  const parsed: unknown = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  const version =
    typeof parsed === 'object' && parsed !== null && 'version' in parsed ? parsed.version : undefined;
  return typeof version === 'string' ? version : 'unknown';
}

/** How long a signalled coordinator may take to close before the process exits anyway. */
const CLOSE_TIMEOUT_MS = 30_000;

/** A flag's whole number, at least `min`; undefined when the flag is absent. */
function count(flag: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`--${flag} ${value}: expected a whole number of at least ${min}`);
  }
  return n;
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}

async function isFolder(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}
