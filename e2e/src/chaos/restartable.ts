// One process the chaos schedule kills and restarts (the coordinator, or one client on its data folder).
//
// Invariants:
// 1. At most one process of a slot is alive at a time: a kill waits for the process to be gone, and a
//    restart only starts if no later kill overtook it (generations), so two processes never share files.
// 2. A kill while the process is still starting is a crash during its recovery, not a failure of the
//    run: the start it interrupted ends quietly, and the restart after it brings the slot back.
// 3. A kill while the slot is down (between a kill and its restart) does nothing: there is nothing to kill.
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
  #generation = 0;
  #down = false;
  #ready = false;
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

  /** Starts a process and waits until it is ready, unless a kill interrupts it (invariant 2). */
  async start(): Promise<void> {
    const started = this.#start();
    this.#process = started.process;
    try {
      await started.ready;
      this.#ready = this.#process === started.process && !this.#down;
    } catch (error) {
      if (!(await isKilled(started.process))) throw error;
    }
  }

  /**
   * Kills the process, and starts a new one `downMs` later; `onBack` runs once it is ready. Returns
   * false when the slot was down already (invariant 3).
   */
  async kill(downMs: number, onBack: () => void, onError: (error: unknown) => void): Promise<boolean> {
    if (this.#down) return false;
    this.#down = true;
    this.#ready = false;
    const generation = ++this.#generation;
    await this.#process?.kill();
    const sleep = new Promise((resolve) => setTimeout(resolve, downMs));
    this.#restart = sleep.then(async () => {
      if (generation !== this.#generation) return;
      this.#down = false;
      try {
        await this.start();
        if (generation === this.#generation && !(await isKilled(this.process))) onBack();
      } catch (error) {
        onError(error);
      }
    });
    return true;
  }

  /** The end of the run: kills the process for good (a restart still sleeping will not start). */
  async stop(): Promise<void> {
    this.#generation++;
    this.#down = true;
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
