// What the owner fixture page (e2e/fixtures/owner-page) exposes to the tests on `window.owner`: one
// document opened with host-browser's tab API, its todos subscribed to as soon as it opens.

export interface OwnerPageOpen {
  readonly docId: string;
  /** The prepared reducer's bytes (base64): the page serves them to itself from a blob URL. */
  readonly reducer: string;
  readonly coordinatorUrl?: string | readonly string[];
  readonly redirectOrigins?: readonly string[];
  readonly persist?: boolean;
}

/** A call's outcome: its value, or the error it threw (name, TandemError kind, message). */
export type Outcome<T> =
  | { readonly ok: true; readonly value: T }
  | {
      readonly ok: false;
      readonly name: string;
      readonly kind?: string;
      readonly message: string;
      /** Whether the error is a TandemError of the tab's realm. */
      readonly tandem: boolean;
    };

export interface OwnerPageStatus {
  readonly syncState: string;
  readonly pendingCount: number;
  readonly online: boolean;
  readonly isOwner: boolean;
  readonly persisted: boolean;
  readonly warning?: string;
  readonly lastDrop?: string;
  readonly rejections: readonly { readonly lsn: number; readonly reason: string; readonly final: boolean }[];
  readonly reducer?: PageReducer;
  readonly upgraded?: PageUpgrade;
  readonly waitingFor?: PageReducer & { readonly coordinator: PageReducer };
}

export interface PageReducer {
  readonly hash: string;
  readonly schemaVersion: number;
}

export interface PageUpgrade {
  readonly from: PageReducer;
  readonly to: PageReducer;
}

/** How many statuses `trail()` keeps. */
export const TRAIL_LENGTH = 100;

export interface OwnerPage {
  open(options: OwnerPageOpen): Promise<Outcome<OwnerPageStatus>>;
  mutate(mutation: unknown): Promise<Outcome<unknown>>;
  query(sql: string): Promise<Outcome<readonly Record<string, unknown>[]>>;
  fate(lsn: number): Promise<Outcome<unknown>>;
  synced(): Promise<Outcome<void>>;
  pageHash(): Promise<Outcome<string>>;
  /** The ids of the todos, as the subscription last heard them (undefined before the first answer). */
  ids(): readonly string[] | undefined;
  /** How many times the subscription's listener was called. */
  heard(): number;
  /** The upgrades `onUpgrade` told this tab, in order. */
  upgrades(): readonly PageUpgrade[];
  status(): OwnerPageStatus;
  /**
   * The statuses `onStatus` told this tab, the latest TRAIL_LENGTH, each after the milliseconds since
   * the page loaded: what a wait on the status that timed out prints, so a status that changed and
   * changed back is told apart from one that never changed.
   */
  trail(): readonly string[];
  goOffline(): Promise<void>;
  goOnline(): Promise<void>;
  close(): Promise<void>;
}

declare global {
  interface Window {
    owner: OwnerPage;
  }
}
