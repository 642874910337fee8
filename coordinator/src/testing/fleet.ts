// Node clients of the multi-coordinator tests in child processes (fleet-child.ts): a few host-node
// documents per process keep the test process free to kill, restart and watch the coordinators.
import { type ChildProcess, fork } from 'node:child_process';
import { TODO_REDUCER } from './coordinator-bin.js';
import type { FleetClient, FleetReport, FleetRequest } from './fleet-child.js';

export type { DocumentReport, FleetClient } from './fleet-child.js';

const CHILD = new URL('../../dist/testing/fleet-child.js', import.meta.url).pathname;

export class Fleet {
  readonly #child: ChildProcess;
  readonly #waiting = new Map<string, (report: FleetReport) => void>();
  #stderr = '';
  readonly #exited: Promise<number | null>;

  constructor() {
    this.#child = fork(CHILD, [], { execArgv: [], silent: true });
    this.#child.stdout?.resume();
    this.#child.stderr?.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString()).slice(-4000);
    });
    this.#child.on('message', (report: FleetReport) => this.#waiting.get(report.type)?.(report));
    this.#exited = new Promise((resolve) => this.#child.once('exit', (code) => resolve(code)));
  }

  /** Sends `request`; resolves with the child's `answer`, rejects if it exits or `ms` pass first. */
  ask<T extends FleetReport['type']>(
    request: FleetRequest,
    answer: T,
    ms: number,
  ): Promise<Extract<FleetReport, { type: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${answer} within ${ms} ms: ${this.#stderr}`)), ms);
      this.#waiting.set(answer, (report) => {
        clearTimeout(timer);
        resolve(report as Extract<FleetReport, { type: T }>);
      });
      void this.#exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`fleet child exited (${code}) before ${answer}: ${this.#stderr}`));
      });
      this.#child.send(request);
    });
  }

  start(clients: readonly FleetClient[], writeEveryMs: number): Promise<unknown> {
    return this.ask({ type: 'start', reducer: TODO_REDUCER, clients, writeEveryMs }, 'started', 60_000);
  }

  /** Closes its documents and ends the process. */
  async close(): Promise<void> {
    if (this.#child.connected) this.#child.disconnect();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await this.#exited;
    clearTimeout(timer);
  }
}
