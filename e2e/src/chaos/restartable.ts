// One process the chaos schedule kills and restarts (the coordinator, or one client on its data folder).
//
// Invariants:
// 1. At most one process of a slot is alive at a time, so two processes never share files: a kill
//    waits for the process to be gone, and only a ready process is killed, so no restart is pending then.
// 2. The schedule kills only a process that is ready: a kill while the slot is down or still starting
//    does nothing (on a loaded machine a coordinator takes seconds to start, and killing it again and
//    again would leave the clients nothing to talk to for the whole run).
// 3. `stop` ends the run: it kills whatever runs, even a process still starting, and cancels any
//    restart still to come; the start it interrupted ends quietly.
import type { Exit } from './child.js';

export interface Started<P> {
  readonly process: P;
  /** Resolves once the process is ready (its first report); rejects if it exits first. */
  readonly ready: Promise<unknown>;
}

export interface Killable {
  readonly exited: Promise<Exit>;
  kill(): Promise<Exit>;
}

export class Restartable<P extends Killable> {
  readonly name: string;
  readonly #start: () => Started<P>;
  #process: P | undefined;
  #ready = false;
  #stopped = false;
  #restart: Promise<void> = Promise.resolve();

  constructor(name: string, start: () => Started<P>) {
    this.name = name;
    this.#start = start;
  }

  /** The latest process (maybe still starting, maybe killed). */
  get process(): P {
    if (this.#process === undefined) throw new Error(`${this.name} was never started`);
    return this.#process;
  }

  /** Whether the latest process is up and has said it is ready. */
  get ready(): boolean {
    return this.#ready;
  }

  /** Starts a process and waits until it is ready, unless `stop` interrupts it (invariant 3). */
  async start(): Promise<void> {
    const started = this.#start();
    this.#process = started.process;
    try {
      await started.ready;
      this.#ready = !this.#stopped;
    } catch (error) {
      if (!(await isKilled(started.process))) throw error;
    }
  }

  /**
   * Kills the process, and starts a new one `downMs` later; `onBack` runs once it is ready. Returns
   * false when the process was not ready (invariant 2).
   */
  async kill(downMs: number, onBack: () => void, onError: (error: unknown) => void): Promise<boolean> {
    if (!this.#ready) return false;
    this.#ready = false;
    await this.#process?.kill();
    this.#restart = new Promise((resolve) => setTimeout(resolve, downMs)).then(async () => {
      if (this.#stopped) return;
      try {
        await this.start();
        if (this.#ready) onBack();
      } catch (error) {
        onError(error);
      }
    });
    return true;
  }

  /** The end of the run: kills the process for good (a restart still sleeping will not start). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#ready = false;
    await this.#process?.kill();
  }

  /** Resolves once the last restart asked for has finished. */
  async restarted(): Promise<void> {
    let seen: Promise<void>;
    do {
      seen = this.#restart;
      await seen;
    } while (seen !== this.#restart);
  }
}

/** Whether `process` has exited because it was killed (without waiting for a live one). */
async function isKilled(process: Killable): Promise<boolean> {
  const exit = await Promise.race([process.exited, Promise.resolve(undefined)]);
  return exit?.expected === true;
}
