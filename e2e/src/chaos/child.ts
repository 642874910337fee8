// A forked child process of the chaos test, spoken to over IPC: requests out, typed reports back.
// Its stderr is kept (the last few KB) so a failure can say what the child said before it died; an
// exit the test did not cause (`kill`) is recorded as unexpected.
import { type ChildProcess, fork } from 'node:child_process';

const STDERR_KEPT = 4096;

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Whether the test killed it (any other exit is a crash). */
  readonly expected: boolean;
}

export class Child<Request, Report extends { readonly type: string }> {
  readonly #process: ChildProcess;
  readonly #waiters = new Map<string, ((report: Report) => void)[]>();
  readonly #asking = new Map<string, Promise<void>>();
  #expectExit = false;
  #stderr = '';
  readonly exited: Promise<Exit>;

  constructor(
    script: string,
    args: readonly string[],
    onReport: (report: Report) => void,
    options: { readonly env?: Record<string, string>; readonly onStderrLine?: (line: string) => void } = {},
  ) {
    this.#process = fork(script, [...args], {
      execArgv: [],
      silent: true,
      env: { ...process.env, ...options.env },
    });
    this.#process.stdout?.resume();
    let partial = '';
    this.#process.stderr?.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      this.#stderr = (this.#stderr + text).slice(-STDERR_KEPT);
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line !== '') options.onStderrLine?.(line);
    });
    // Sending to a child that just died fails here, not in the sender: its exit is what gets reported.
    this.#process.on('error', (error) => {
      this.#stderr = `${this.#stderr}\n[ipc] ${error.message}`.slice(-STDERR_KEPT);
    });
    this.#process.on('message', (message) => {
      const report = message as Report;
      onReport(report);
      const waiters = this.#waiters.get(report.type);
      const first = waiters?.shift();
      first?.(report);
    });
    this.exited = new Promise((resolve) => {
      this.#process.once('exit', (code, signal) => resolve({ code, signal, expected: this.#expectExit }));
    });
  }

  get pid(): number | undefined {
    return this.#process.pid;
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** Resolves with the next report of this type, or rejects if the child exits or `ms` pass first. */
  next<T extends Report['type']>(type: T, ms: number): Promise<Extract<Report, { type: T }>> {
    return new Promise((resolve, reject) => {
      const waiter = (report: Report): void => {
        clearTimeout(timer);
        resolve(report as Extract<Report, { type: T }>);
      };
      const list = this.#waiters.get(type) ?? [];
      list.push(waiter);
      this.#waiters.set(type, list);
      const timer = setTimeout(() => {
        const waiting = this.#waiters.get(type);
        waiting?.splice(waiting.indexOf(waiter), 1);
        reject(new Error(`no '${type}' report within ${ms} ms${this.#stderrTail()}`));
      }, ms);
      void this.exited.then((exit) => {
        clearTimeout(timer);
        reject(
          new Error(
            `exited (code ${exit.code}, signal ${exit.signal}) before a '${type}' report${this.#stderrTail()}`,
          ),
        );
      });
    });
  }

  /** Sends `request` and waits for the report of type `answer`. */
  /**
   * Sends `request` and waits for the report of type `answer`. Asks awaiting the same answer go one at a
   * time: the child may answer concurrent requests out of order, and replies are matched by type.
   */
  ask<T extends Report['type']>(
    request: Request,
    answer: T,
    ms: number,
  ): Promise<Extract<Report, { type: T }>> {
    const previous = this.#asking.get(answer) ?? Promise.resolve();
    const reply = previous.then(() => {
      const next = this.next(answer, ms);
      this.#process.send(request as object);
      return next;
    });
    this.#asking.set(
      answer,
      reply.then(
        () => undefined,
        () => undefined,
      ),
    );
    return reply;
  }

  async kill(): Promise<Exit> {
    this.#expectExit = true;
    this.#process.kill('SIGKILL');
    return this.exited;
  }

  #stderrTail(): string {
    const text = this.#stderr.trim();
    return text === '' ? '' : `; its stderr: ${text.slice(-1000)}`;
  }
}
