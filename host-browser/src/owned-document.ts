// The document as its owner (a dedicated worker) holds it: the LocalDocument, and the status every tab
// sees. Invariants: the connection to the coordinator is wanted exactly while the app wants it
// (goOnline/goOffline) and the network is up; listeners hear the status only when it changed.
import { type LocalDocument, type MutateOptions, type MutationResult, TandemError } from '@tandem/runtime';
import { openDocument } from './open-document.js';
import type { OwnerConfig, OwnerStatus } from './owner-protocol.js';
import type { Rejection } from './tab-api.js';
import { valuesKey } from './values-key.js';

/** The newest rejections kept in the status. */
const REJECTIONS_KEPT = 50;
/** How long an open waits for the previous owner's worker to let go of the files (its tab just closed). */
const TAKEOVER_MS = 10_000;

interface Pausable {
  goOffline(): unknown;
  goOnline(): unknown;
}

export class OwnedDocument {
  readonly document: LocalDocument;
  readonly #syncs: boolean;
  readonly #warning: string | undefined;
  readonly #persisted: boolean;
  #appOnline = true;
  #networkOnline: boolean;
  #rejections: readonly Rejection[] = [];
  #status: OwnerStatus;
  #statusKey: string;
  #changeScheduled = false;
  readonly #listeners = new Set<(status: OwnerStatus) => void>();
  readonly #poll: ReturnType<typeof setInterval>;

  private constructor(document: LocalDocument, config: OwnerConfig, warning: string | undefined) {
    this.document = document;
    this.#syncs = config.coordinatorUrl !== undefined;
    this.#warning = warning;
    this.#persisted = config.persist && warning === undefined;
    this.#networkOnline = typeof navigator === 'undefined' || navigator.onLine !== false;
    this.#status = this.#compute();
    this.#statusKey = valuesKey([this.#status]);
    this.#applyOnline();
    this.#poll = setInterval(() => this.changed(), 250);
  }

  /**
   * Opens the document for its owner. The previous owner's worker may still hold the files for a moment
   * after its tab closed (`document-locked`): the open is retried until TAKEOVER_MS, never forced.
   */
  static async open(config: OwnerConfig): Promise<OwnedDocument> {
    let warning: string | undefined;
    let owned: OwnedDocument | undefined;
    const deadline = Date.now() + TAKEOVER_MS;
    for (let wait = 20; ; wait = Math.min(wait * 2, 250)) {
      try {
        const document = await openDocument({
          docId: config.docId,
          reducer: config.reducer,
          persist: config.persist,
          onWarning: (message) => {
            warning = message;
          },
          ...(config.coordinatorUrl !== undefined && { coordinatorUrl: config.coordinatorUrl }),
          ...(config.token !== undefined && { token: config.token }),
          sync: { onStateChange: () => owned?.changed() },
        });
        owned = new OwnedDocument(document, config, warning);
        return owned;
      } catch (error) {
        const locked = error instanceof TandemError && error.kind === 'document-locked';
        if (!locked || Date.now() + wait > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  get status(): OwnerStatus {
    return this.#status;
  }

  onStatus(listener: (status: OwnerStatus) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async mutateBatch(mutations: readonly unknown[], options?: MutateOptions): Promise<MutationResult[]> {
    const results = await this.document.mutateBatch(mutations, options);
    this.#track(results);
    return results;
  }

  goOffline(): void {
    this.#appOnline = false;
    this.#applyOnline();
  }

  goOnline(): void {
    this.#appOnline = true;
    this.#applyOnline();
  }

  /** The network went down or came back (the worker's or the tab's `offline`/`online` event). */
  network(online: boolean): void {
    if (this.#networkOnline === online) return;
    this.#networkOnline = online;
    this.#applyOnline();
  }

  async close(): Promise<void> {
    clearInterval(this.#poll);
    await this.document.close();
    this.changed();
  }

  /** Something the status shows may have changed: tell the listeners once this turn is over, if it did. */
  changed(): void {
    if (this.#changeScheduled) return;
    this.#changeScheduled = true;
    queueMicrotask(() => {
      this.#changeScheduled = false;
      const status = this.#compute();
      const key = valuesKey([status]);
      if (key === this.#statusKey) return;
      this.#status = status;
      this.#statusKey = key;
      for (const listener of [...this.#listeners]) listener(status);
    });
  }

  #applyOnline(): void {
    const pausable = this.document as unknown as Partial<Pausable>;
    if (this.#appOnline && this.#networkOnline) pausable.goOnline?.();
    else pausable.goOffline?.();
    this.changed();
  }

  /** Local rejections are shown at once; the coordinator's verdict on each mutation replaces them. */
  #track(results: readonly MutationResult[]): void {
    for (const result of results) {
      if (result.status === 'rejected') {
        this.#reject({ lsn: result.lsn, reason: result.reason, final: false });
      }
      if (!this.#syncs) continue;
      this.document.fate(result.lsn).then(
        (fate) => {
          if (fate.status === 'rejected') this.#reject({ lsn: fate.lsn, reason: fate.reason, final: true });
          else this.#rejections = this.#rejections.filter((r) => r.lsn !== fate.lsn);
          this.changed();
        },
        () => undefined,
      );
    }
    this.changed();
  }

  #reject(rejection: Rejection): void {
    this.#rejections = [...this.#rejections.filter((r) => r.lsn !== rejection.lsn), rejection]
      .sort((a, b) => a.lsn - b.lsn)
      .slice(-REJECTIONS_KEPT);
  }

  #compute(): OwnerStatus {
    const document = this.document;
    const syncError = document.syncError;
    return {
      syncState: document.syncState,
      pendingCount: document.pendingCount,
      online: this.#appOnline,
      ...(document.lastSyncDrop !== undefined && { lastDrop: document.lastSyncDrop }),
      ...(syncError !== undefined && { syncError: { kind: syncError.kind, message: syncError.message } }),
      rejections: this.#rejections,
      ...(this.#warning !== undefined && { warning: this.#warning }),
      persisted: this.#persisted,
    };
  }
}
