// What the Chromium boot pages (bench/boot-page) expose. A timed boot runs as the page loads, from
// its URL (`/?open=<docId>[&sync]` opens a document through host-browser; `/floor.html?open=<name>`
// runs the floor), and leaves its promise on `window.bootRun`. Every timing is taken in the page with
// performance.now(), so the Playwright round trip is never part of a figure; both sides are timed from
// the page's navigation start (its time origin), so whatever one side starts at import time, before
// the app opens anything, is inside its figure.

export interface BootTiming {
  /** From the page's navigation start to the first query's answer: the figure compared with the floor. */
  readonly sinceNavigationMs: number;
  /** From the openDocument call to the first query's answer (owner election, owner worker, sqlite-wasm, the reducer, OPFS). */
  readonly firstQueryMs: number;
  /** openDocument alone. */
  readonly openMs: number;
  /** What `SELECT count(*) FROM todos` answered. */
  readonly rows: number;
  /** Whether the document was kept in OPFS (false: in memory, with `warning`). */
  readonly persisted: boolean;
  readonly warning?: string;
}

export interface FloorTiming {
  /** From the floor page's navigation start to the answer. */
  readonly sinceNavigationMs: number;
  /** From the navigation start to the page's first script line. */
  readonly scriptMs: number;
  /** From the floor worker's creation to the answer. */
  readonly workerMs: number;
  readonly rows: number;
}

/**
 * `/floor.html?worker`: what any design that answers from a worker pays before its own work. A new page
 * creates a worker of one line that answers a message.
 */
export interface WorkerFloorTiming {
  /** From the navigation start to the worker's answer. */
  readonly sinceNavigationMs: number;
  /** From the navigation start to the page's first script line. */
  readonly scriptMs: number;
}

/** `window.bootPage` on `/`: preparing the documents. */
export interface BootPage {
  /**
   * Creates `count` todos in `docId`, persisted, syncing with the coordinator that served the page
   * when `sync` (and waits until it took them all), then closes it.
   */
  fill(docId: string, count: number, sync: boolean): Promise<void>;
}

/** `window.floorPage` on `/floor.html`. */
export interface FloorPage {
  /** Writes a SQLite file of `count` todos into OPFS as `name`, with raw sqlite-wasm (the floor's file). */
  write(name: string, count: number): Promise<void>;
}

declare global {
  interface Window {
    bootPage: BootPage;
    floorPage: FloorPage;
    /** The timed boot the page's URL asked for. */
    bootRun: Promise<BootTiming | FloorTiming | WorkerFloorTiming> | undefined;
  }
}
