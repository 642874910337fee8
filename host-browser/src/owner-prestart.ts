// An owner worker started as soon as a tab imports host-browser, before the app opens anything: its
// script, sqlite3.wasm's fetch, compile and instantiation run while the app sets up (renders, asks the coordinator
// which reducer is current), so the first openDocument of the tab finds them done or under way. Like
// every spare owner worker (owner-link.ts) it opens nothing until told to, so an unused one is ended
// unharmed; it names no document (none is known yet). The broker SharedWorker is started then too, so
// its answer does not hold up the election either.
//
// Invariants: a prestarted worker serves at most one start (taken once, never handed out again); one
// whose script failed is never handed out (its `error` fired before anyone else listened); one not
// taken within IDLE_MS is ended, so a page that never opens a document does not keep it running.

/** How long a prestarted worker waits for a start to take it. */
const IDLE_MS = 30_000;

interface Prestarted {
  readonly worker: Worker;
  failed: boolean;
  readonly timer: ReturnType<typeof setTimeout>;
}

let prestarted: Prestarted | undefined;

/** A new owner worker: it loads its code and SQLite at once, and waits to be told what to open. */
export function newOwnerWorker(name: string): Worker {
  return new Worker(new URL('./owner-worker.js', import.meta.url), { type: 'module', name });
}

/** Starts the tab's spare owner worker, where a tab can run one (not in Node, nor inside a worker). */
export function prestartOwnerWorker(): void {
  if (prestarted !== undefined || typeof window === 'undefined' || typeof Worker !== 'function') return;
  const worker = newOwnerWorker('tandem owner');
  const held: Prestarted = {
    worker,
    failed: false,
    timer: setTimeout(() => {
      if (prestarted === held) prestarted = undefined;
      worker.terminate();
    }, IDLE_MS),
  };
  worker.addEventListener('error', () => {
    held.failed = true;
  });
  prestarted = held;
}

/** The prestarted owner worker, once; undefined when there is none (taken, ended, or its script failed). */
export function takePrestartedOwnerWorker(): Worker | undefined {
  const held = prestarted;
  prestarted = undefined;
  if (held === undefined) return undefined;
  clearTimeout(held.timer);
  if (!held.failed) return held.worker;
  held.worker.terminate();
  return undefined;
}
