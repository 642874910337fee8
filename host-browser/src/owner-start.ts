// Starting an owner: the owner worker and the document's open in it. A start can fail for a while
// (the worker's script or the reducer cannot be fetched: offline, the server down; the storage
// stumbled) or for good (the reducer is not one, the files are damaged, the document belongs to a newer
// reducer). The first kind is retried: a fault either heals or stops loudly, and a transient one heals.
//
// Invariant: a worker that failed to start is ended before the start is retried, so it holds nothing
// (no OPFS handle, no socket) that the next attempt (here or in another tab) would find held.
import { TandemError, type TandemErrorKind } from '@tandem/runtime/errors';
import { newOwnerWorker, takePrestartedOwnerWorker } from './owner-prestart.js';
import type { FromOwnerWorker, OwnerConfig, ToOwnerWorker } from './owner-protocol.js';
import { reviveError } from './wire-errors.js';

/**
 * Starts an owner worker for `config` (the tab's prestarted one when it is still there), told at once
 * which reducer it will run and whether it syncs (`prepare`), so it fetches them while its code loads;
 * it opens nothing until told to.
 */
export function startOwnerWorker(config: OwnerConfig): Worker {
  const worker = takePrestartedOwnerWorker() ?? newOwnerWorker(`tandem owner: ${config.docId}`);
  post(worker, { type: 'prepare', reducer: config.reducer, syncs: config.coordinatorUrl !== undefined });
  return worker;
}

export function post(worker: Worker, message: ToOwnerWorker, transfer: Transferable[] = []): void {
  worker.postMessage(message, transfer);
}

/** Resolves with the worker's next answer of `type` (or its failure to open, or to load at all). */
export function answer(worker: Worker, type: 'opened' | 'closed'): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = ({ data }: MessageEvent<FromOwnerWorker>) => {
      if (data.type === type) resolve();
      else if (data.type === 'failed') reject(reviveError(data.error));
      else return;
      worker.removeEventListener('message', onMessage);
    };
    worker.addEventListener('message', onMessage);
    worker.addEventListener(
      'error',
      (event) =>
        reject(
          new Error(
            `the owner worker failed: ${event.message || 'its script could not be loaded (offline, or the server is down)'}`,
          ),
        ),
      { once: true },
    );
  });
}

/**
 * Starts an owner worker (or takes `prestarted`, one whose script loaded while this tab waited for the
 * election: it opens nothing before it is told to) and opens the document in it; on failure the worker
 * is ended and the error thrown. `cancelled` cuts the wait short (the worker is then returned, opened or
 * not, for its caller to close).
 */
export async function startOwner(
  config: OwnerConfig,
  generation: string,
  cancelled: Promise<void>,
  prestarted?: Worker,
): Promise<Worker> {
  const worker = prestarted ?? startOwnerWorker(config);
  try {
    const opened = answer(worker, 'opened');
    post(worker, { type: 'open', config, generation });
    await Promise.race([opened, cancelled]);
    return worker;
  } catch (error) {
    worker.terminate();
    throw error;
  }
}

/** Refusals that say what the document or its reducer is: a new start would meet them again. */
const FINAL: ReadonlySet<TandemErrorKind> = new Set<TandemErrorKind>([
  'invalid-argument',
  'invalid-reducer',
  'migration-failed',
  'reducer-too-old',
  'storage-corrupt',
  'identity-lost',
  'timeline-damaged',
  'document-locked',
  'sync-failed',
  'closed',
]);

/**
 * Whether a failed start may succeed later: anything but a final refusal. A reducer that could not be
 * fetched (`invalid-reducer`, reason `unreachable`) is the network's fault, not the reducer's.
 */
export function startRetryable(error: unknown): boolean {
  if (!(error instanceof TandemError)) return true;
  if (error.kind === 'invalid-reducer') return error.fields.reason === 'unreachable';
  return !FINAL.has(error.kind);
}

export function startFailureReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return `the owner could not start (${message}); trying again`;
}

const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 5_000;

/** Waits between starts: doubling from FIRST_DELAY_MS up to MAX_DELAY_MS, cut short by `online`. */
export class StartBackoff {
  #delay = FIRST_DELAY_MS;

  /** Resolves after the delay, at once when the network comes back, or when `signal` aborts. */
  wait(signal: AbortSignal): Promise<void> {
    const delay = this.#delay;
    this.#delay = Math.min(this.#delay * 2, MAX_DELAY_MS);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        globalThis.removeEventListener('online', done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, delay);
      globalThis.addEventListener('online', done);
      signal.addEventListener('abort', done);
      if (signal.aborted) done();
    });
  }
}
