// A private PostgreSQL for the tests: a cluster in a temporary folder, started on a free port of
// 127.0.0.1 (and a socket in that folder), stopped and deleted at the end. Never a mock: the tests claim
// what a real server does with our statements (transactions, constraints, a restart).
//
// Debian's `postgresql` provides the binaries; when it is missing and we are root with apt-get, it is
// installed the way the browser tests install chromium (scripts/ensure.mjs), else the start fails with
// a message saying what to install. initdb refuses to run as root: as root the cluster runs as Debian's
// `postgres` user (runuser). initdb costs seconds, so one initialised template per PostgreSQL version is
// kept in the temporary folder and copied for each cluster (a copy takes tens of milliseconds).
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface PostgresCluster {
  /** `postgres://tandem@127.0.0.1:<port>/postgres`: trust authentication, reachable only from here. */
  readonly url: string;
  readonly port: number;
  /** A fresh database in this cluster, by its URL (each test's own, so tests do not share tables). */
  createDatabase(name: string): string;
  /**
   * Stops the server at once (`immediate`: like a crash, recovered from its WAL at the next start).
   * Asynchronous, like `start`: a coordinator running in the test's process keeps running meanwhile.
   */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /**
   * Freezes the server (SIGSTOP to the postmaster and every backend): connections stay open and
   * nothing answers, as when PostgreSQL hangs. `resume` (SIGCONT) lets it go on where it was.
   */
  pause(): void;
  resume(): void;
  /** Stops the server and deletes its folder. */
  destroy(): Promise<void>;
}

const USER = 'tandem';

export async function startPostgresCluster(): Promise<PostgresCluster> {
  const bin = postgresBin();
  const asRoot = process.getuid?.() === 0;
  const command = (name: string, args: readonly string[]): [string, string[]] => {
    const path = name.startsWith('/') ? name : join(bin, name);
    return asRoot ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, [...args]];
  };
  const run = (name: string, args: readonly string[]): string => {
    const result = spawnSync(...command(name, args), { encoding: 'utf8' });
    if (result.status !== 0) {
      throw new Error(
        `${name} ${args.join(' ')} failed (exit ${result.status ?? result.signal}): ${result.stderr}${result.stdout}`,
      );
    }
    return result.stdout;
  };
  const runAsync = async (name: string, args: readonly string[]): Promise<void> => {
    try {
      await execFileAsync(...command(name, args), { encoding: 'utf8' });
    } catch (error) {
      const { stderr = '', stdout = '' } = error as { stderr?: string; stdout?: string };
      throw new Error(`${name} ${args.join(' ')} failed: ${stderr}${stdout}`, { cause: error });
    }
  };
  const template = await ensureTemplate(bin, asRoot, run);
  const folder = await mkdtemp(join(tmpdir(), 'tandem-pg-'));
  if (asRoot) execFileSync('chown', ['postgres', folder]);
  const data = join(folder, 'data');
  run('/bin/cp', ['-a', template, data]);
  const started = cluster(folder, data, await freePort(), run, runAsync);
  await started.start();
  return started;
}

function cluster(
  folder: string,
  data: string,
  port: number,
  run: (command: string, args: readonly string[]) => string,
  runAsync: (command: string, args: readonly string[]) => Promise<void>,
): PostgresCluster {
  const options = `-p ${port} -k ${folder} -c listen_addresses=127.0.0.1 -c max_connections=200`;
  const start = (): Promise<void> =>
    runAsync('pg_ctl', ['-D', data, '-w', '-t', '60', '-l', join(folder, 'log'), '-o', options, 'start']);
  const stop = (): Promise<void> => runAsync('pg_ctl', ['-D', data, '-w', '-m', 'immediate', 'stop']);
  const url = `postgres://${USER}@127.0.0.1:${port}/postgres`;
  return {
    url,
    port,
    createDatabase: (name) => {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new RangeError(`database name ${name}`);
      run('createdb', ['-h', folder, '-p', String(port), '-U', USER, name]);
      return `postgres://${USER}@127.0.0.1:${port}/${name}`;
    },
    stop,
    start,
    pause: () => signalServer(data, 'SIGSTOP'),
    resume: () => signalServer(data, 'SIGCONT'),
    destroy: async () => {
      // Already stopped or not: the folder goes either way (a paused server cannot stop).
      signalServer(data, 'SIGCONT');
      await stop().catch(() => undefined);
      await rm(folder, { recursive: true, force: true });
    },
  };
}

/** Signals the cluster's processes; one that ended meanwhile (a backend whose client left) is skipped. */
function signalServer(data: string, signal: NodeJS.Signals): void {
  for (const pid of serverProcesses(data)) {
    try {
      process.kill(pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }
}

/** The postmaster of the cluster in `data` (its postmaster.pid) and its children, the backends. */
function serverProcesses(data: string): number[] {
  let postmaster: number;
  try {
    postmaster = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return [];
  }
  if (!(postmaster > 0)) return [];
  const children = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        // Fields after the command's closing parenthesis: state, then the parent's pid.
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster;
      } catch {
        return false;
      }
    })
    .map(Number);
  return [postmaster, ...children];
}

/** The folder of the newest installed PostgreSQL's binaries, installing Debian's package if needed. */
function postgresBin(): string {
  const found = newestBin();
  if (found !== undefined) return found;
  const isRoot = process.getuid?.() === 0;
  const hasApt = spawnSync('which', ['apt-get']).status === 0;
  if (!isRoot || !hasApt) {
    throw new Error(
      'the PostgreSQL store tests need a PostgreSQL server (initdb, pg_ctl) in /usr/lib/postgresql/<version>/bin.\n' +
        '  Install it with: sudo apt-get install -y postgresql',
    );
  }
  process.stderr.write('• installing Debian postgresql for the PostgreSQL store tests (apt-get)…\n');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', 'postgresql'], { stdio: 'inherit', env });
  const installed = newestBin();
  if (installed === undefined) throw new Error('apt-get installed postgresql, but no initdb was found');
  return installed;
}

function newestBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((name) => /^\d+$/.test(name) && existsSync(join(root, name, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

/** An initialised data folder for this PostgreSQL, made once per machine and copied per cluster. */
async function ensureTemplate(
  bin: string,
  asRoot: boolean,
  run: (command: string, args: readonly string[]) => string,
): Promise<string> {
  const version = bin.split('/').at(-2) ?? 'pg';
  const template = join(tmpdir(), `tandem-pg-template-${version}${asRoot ? '-postgres' : ''}`);
  if (existsSync(join(template, 'PG_VERSION'))) return template;
  const making = await mkdtemp(join(tmpdir(), 'tandem-pg-template-'));
  if (asRoot) execFileSync('chown', ['postgres', making]);
  const data = join(making, 'data');
  run('initdb', ['-D', data, '-A', 'trust', '-U', USER, '-E', 'UTF8', '--no-sync', '--no-instructions']);
  // Another test file may have made it meanwhile: the rename of one of them wins, whole.
  await rename(data, template).catch(() => undefined);
  await rm(making, { recursive: true, force: true });
  return template;
}

/** A port free now on 127.0.0.1 (the server takes it a moment later). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
