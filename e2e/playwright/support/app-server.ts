// A coordinator serving the app that a spec starts and stops itself (the suite's own server must stay
// up for the other specs): `node scripts/serve-app.mjs` in a child process, on a port and data folder
// that survive a restart, so tabs that loaded the app reconnect to the same origin and documents.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SERVE_APP } from './settings.js';

export class AppServer {
  #child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    readonly dataDir: string,
  ) {}

  /** Starts a coordinator serving the app on a free port, with an empty data folder. */
  static async start(): Promise<AppServer> {
    const server = new AppServer(await freePort(), await mkdtemp(join(tmpdir(), 'tandem-e2e-app-')));
    await server.restart();
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts it again (after `stop`) on the same port and data folder; resolves once it serves. */
  async restart(): Promise<void> {
    if (this.#child !== undefined) throw new Error('the app server is already running');
    const child = spawn(process.execPath, [SERVE_APP], {
      env: { ...process.env, PORT: String(this.port), TANDEM_DATA: this.dataDir, TANDEM_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.#child = child;
    await new Promise<void>((resolve, reject) => {
      let output = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('http://')) resolve();
      });
      child.once('exit', (code, signal) =>
        reject(new Error(`the app server exited (${code ?? signal}) before serving: ${output}`)),
      );
    });
  }

  /** Stops the coordinator (SIGTERM: it closes its sockets and documents) and waits for its exit. */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await exited;
  }

  /** One metric from `/metrics` (its unlabelled sample). */
  async metric(name: string): Promise<number | undefined> {
    const text = await (await fetch(`${this.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line === undefined ? undefined : Number(line.slice(name.length + 1));
  }

  async dispose(): Promise<void> {
    await this.stop();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}
