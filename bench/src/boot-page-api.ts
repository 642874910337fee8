// What the Chromium boot page (bench/boot-page) exposes on `window.bootPage`. Every timing is taken in
// the page with performance.now(), so the Playwright round trip is never part of a figure.

export interface BootTiming {
  /** From the openDocument call to the first query's answer (owner election, worker start, sqlite-wasm, the reducer, OPFS). */
  readonly firstQueryMs: number;
  /** openDocument alone. */
  readonly openMs: number;
  /** What `SELECT count(*) FROM todos` answered. */
  readonly rows: number;
  /** Whether the document was kept in OPFS (false: in memory, with `warning`). */
  readonly persisted: boolean;
  readonly warning?: string;
}

export interface BootPage {
  /**
   * Creates `count` todos in `docId`, persisted, syncing with the coordinator that served the page
   * when `sync` (and waits until it took them all), then closes it.
   */
  fill(docId: string, count: number, sync: boolean): Promise<void>;
  /** Opens `docId` as the app does (persisted; syncing when `sync`) and times it to its first answer. */
  openTimed(docId: string, sync: boolean): Promise<BootTiming>;
  /** Writes a SQLite file of `count` todos into OPFS as `name`, with raw sqlite-wasm (the floor's file). */
  floorWrite(name: string, count: number): Promise<void>;
  /**
   * The floor of openTimed: a new dedicated worker loads raw sqlite-wasm, reads the file `name` from
   * OPFS, opens it and answers the same query; ms from the worker's creation to the answer.
   */
  floorOpenTimed(name: string): Promise<{ readonly ms: number; readonly rows: number }>;
}

declare global {
  interface Window {
    bootPage: BootPage;
  }
}
