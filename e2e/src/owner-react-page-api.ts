// What the React fixture page (e2e/fixtures/owner-page-react) exposes to the hooks test on `window.hooks`:
// a document rendered through @tandem/host-browser/react, and how often each component rendered.

export interface HooksPage {
  /** Opens the document (reducer bytes in base64) and renders the app. */
  render(docId: string, reducer: string): Promise<void>;
  /** Mutates through the function `useMutate()` returned. */
  mutate(mutation: unknown): Promise<unknown>;
  /** Renders of the list (useQuery) and of the status line (useSyncState). */
  renders(): { readonly list: number; readonly status: number };
  /** Whether every render got the same `useMutate()` function. */
  stableMutate(): boolean;
}

declare global {
  interface Window {
    hooks: HooksPage;
  }
}
