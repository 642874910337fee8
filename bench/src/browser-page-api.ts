// What the browser bench page (bench/browser-page) exposes on `window.benchPage`. Every timing is taken
// inside the page with performance.now(), so the Playwright round trip is never part of a figure.

/** The subscription a callback timing watches. */
export type SubscriptionShape =
  /** One todo by id: the shape of a peer's `get` subscription. */
  | 'one'
  /** Every todo in creation order: the demo app's list query. */
  | 'list';

export interface OpenVariant {
  /** Keep the document in OPFS (true, the app's way) or in memory. */
  readonly persist: boolean;
  /** Sync with the coordinator (true, the app's way) or stay local. */
  readonly sync: boolean;
}

export interface OpenTiming {
  /** openDocument alone (owner election, worker start, sqlite-wasm and reducer load, OPFS open). */
  readonly openMs: number;
  /** openDocument and the first answer of the app's list query. */
  readonly firstQueryMs: number;
  /** From the page's navigation start to that answer (page load included). */
  readonly sinceNavigationMs: number;
  readonly rows: number;
  /** Whether the document was kept in OPFS (false: in memory, with `warning`). */
  readonly persisted: boolean;
  readonly warning?: string;
}

export interface BenchPage {
  /**
   * Opens `docId` as the demo app does: persisted, syncing with the coordinator that served the page
   * (unless `options` say otherwise).
   */
  open(
    docId: string,
    options?: OpenVariant,
  ): Promise<{ readonly persisted: boolean; readonly warning?: string }>;
  /** Creates `count` todos (ids `t0`…) in batches and waits until the coordinator has them. */
  fill(count: number): Promise<void>;
  /**
   * Toggles a todo `count` times, each time timing mutate → the listener of a `shape` subscription
   * hearing the toggled row (ms). `todos` todos exist; the toggled one cycles through them for `list`.
   */
  callbackTimes(shape: SubscriptionShape, count: number, todos: number): Promise<number[]>;
  close(): Promise<void>;
  /**
   * The floor of callbackTimes: a dedicated worker running raw sqlite-wasm (no Tandem) over a todos
   * table of `todos` rows in an in-memory database.
   */
  floorStart(todos: number): Promise<void>;
  /** Round trips tab → floor worker (the same toggle as an UPDATE, then the same SELECT) → tab, in ms. */
  floorTimes(shape: SubscriptionShape, count: number, todos: number): Promise<number[]>;
  /** Opens `docId` (already filled) and times it until the app's list query first answers. */
  openTimed(docId: string): Promise<OpenTiming>;
  /** The floor of openTimed: a new worker loads sqlite-wasm and answers a query on an empty in-memory db. */
  floorOpenTimed(): Promise<number>;
}

declare global {
  interface Window {
    benchPage: BenchPage;
  }
}
