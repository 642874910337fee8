// What the bundle fixture page (e2e/fixtures/bundle-page, built with vite and served by a coordinator)
// exposes to the test on `window`.

export interface BundleRun {
  /** The reducer `GET /reducers/current` named. */
  readonly current: { readonly sha256: string; readonly url: string };
  readonly pageHash: string;
  readonly rows: readonly Record<string, unknown>[];
  readonly syncState: string;
}

export interface BundleRefusal {
  readonly tandem: boolean;
  readonly kind?: string;
  readonly reason?: string;
  readonly message: string;
}

export interface BundlePage {
  /** Opens `docId` with the coordinator's current reducer, adds `titles`, waits until synced. */
  run(docId: string, titles: readonly string[]): Promise<BundleRun>;
  /** Opens a document with the reducer at `url`; how it was refused (or undefined if it opened). */
  refusal(docId: string, url: string): Promise<BundleRefusal | undefined>;
}

declare global {
  interface Window {
    bundlePage: BundlePage;
  }
}
