// What the rows fixture page (e2e/fixtures/rows-page) exposes on `window.rows`: one scenario run in the
// tab through host-browser's tab API (comlink to the owner worker), its results made plain for the test
// (a bigint as { bigint: '…' }, a Uint8Array as { bytes: [...] }).

export interface RowsPageRun {
  /** The prepared reducer's bytes (base64): the page serves them to itself from a blob URL. */
  readonly reducer: string;
  readonly docId: string;
  readonly coordinatorUrl: string;
}

export interface RowsPage {
  run(options: RowsPageRun): Promise<unknown>;
}

declare global {
  interface Window {
    rows: RowsPage;
  }
}
