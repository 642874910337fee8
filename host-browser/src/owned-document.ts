// The document as its owner (a dedicated worker) holds it: the LocalDocument, and the status every tab
// sees. Invariants: the connection to the coordinator is wanted exactly while the app wants it
// (goOnline/goOffline) and the network is up; the status is the same object until a field changes, and
// listeners hear it only then.
import {
  type LocalDocument,
  type MutateOptions,
  type MutationResult,
  type ReducerModule,
  type SyncStatus,
  TandemError,
} from '@tandem/runtime/local';
import { type OpenDocumentOptions, openWithReducer } from './open-document.js';
import type { LockedFolder } from './opfs-folder.js';
import type { OwnerConfig, OwnerStatus } from './owner-protocol.js';
import { resolveReducer } from './reducer-source.js';

/** How long an open waits for the previous owner's worker to let go of the files (its tab just closed). */
const TAKEOVER_MS = 10_000;

export class OwnedDocument {
  readonly document: LocalDocument;
  readonly #where: Pick<OwnerStatus, 'warning' | 'persisted'>;
  #appOnline = true;
  #networkOnline: boolean;
  #status: OwnerStatus;
  /** What `#status` was made of. */
  #from: { readonly sync: SyncStatus; readonly appOnline: boolean };
  readonly #listeners = new Set<(status: OwnerStatus) => void>();

  private constructor(document: LocalDocument, config: OwnerConfig, warning: string | undefined) {
    this.document = document;
    this.#where = {
      persisted: config.persist && warning === undefined,
      ...(warning !== undefined && { warning }),
    };
    this.#networkOnline = typeof navigator === 'undefined' || navigator.onLine !== false;
    this.#from = { sync: document.status, appOnline: this.#appOnline };
    this.#status = this.#compose();
    document.onStatus(() => this.#changed());
    if (!this.#networkOnline) this.#applyOnline().catch(() => undefined);
  }

  /**
   * Opens the document for its owner. Shared, the previous owner's worker may still hold the files for a
   * moment after its tab closed (`document-locked`): the open is retried until TAKEOVER_MS, never forced.
   * Files still held then, or held by another tab when tabs cannot share (each runs its own owner), are
   * another writer's: this owner keeps the document in memory, with a warning. `reducer` is the
   * reducer of `config.reducer` when it is already on its way (the worker fetched it before the open),
   * and `folder` the document's OPFS folder when its open already started (it serves the first try).
   */
  static async open(
    config: OwnerConfig,
    reducer?: Promise<ReducerModule>,
    folder?: Promise<LockedFolder>,
  ): Promise<OwnedDocument> {
    const loading = reducer ?? resolveReducer(config.reducer, {});
    loading.catch(() => undefined);
    const deadline = Date.now() + TAKEOVER_MS;
    let started = folder;
    for (let wait = 20; ; wait = Math.min(wait * 2, 250)) {
      try {
        const first = started;
        started = undefined;
        return await OwnedDocument.#open(config, loading, config.persist, undefined, first);
      } catch (error) {
        if (!(error instanceof TandemError && error.kind === 'document-locked')) throw error;
        if (config.shared && Date.now() + wait <= deadline) {
          await new Promise((resolve) => setTimeout(resolve, wait));
          continue;
        }
        const why = config.shared
          ? 'another tab holds its files (one running another version of this app?); reload this tab once that one is closed'
          : 'another tab holds it, and this browser cannot share it between tabs (no SharedWorker or Web Locks)';
        return await OwnedDocument.#open(
          config,
          loading,
          false,
          `document ${config.docId} is kept in memory only: ${why}`,
        );
      }
    }
  }

  static async #open(
    config: OwnerConfig,
    reducer: Promise<ReducerModule>,
    persist: boolean,
    warned?: string,
    folder?: Promise<LockedFolder>,
  ): Promise<OwnedDocument> {
    let warning = warned;
    const options: OpenDocumentOptions = {
      docId: config.docId,
      reducer: config.reducer,
      persist,
      onWarning: (message) => {
        warning = message;
      },
      ...(config.coordinatorUrl !== undefined && { coordinatorUrl: config.coordinatorUrl }),
      ...(config.redirectOrigins !== undefined && { redirectOrigins: config.redirectOrigins }),
      ...(config.token !== undefined && { token: config.token }),
    };
    const document = await openWithReducer(options, reducer, folder);
    return new OwnedDocument(document, { ...config, persist }, warning);
  }

  get status(): OwnerStatus {
    return this.#status;
  }

  onStatus(listener: (status: OwnerStatus) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  mutateBatch(mutations: readonly unknown[], options?: MutateOptions): Promise<MutationResult[]> {
    return this.document.mutateBatch(mutations, options);
  }

  goOffline(): Promise<void> {
    this.#appOnline = false;
    return this.#applyOnline();
  }

  goOnline(): Promise<void> {
    this.#appOnline = true;
    return this.#applyOnline();
  }

  /** The network went down or came back (the worker's or the tab's `offline`/`online` event). */
  network(online: boolean): void {
    if (this.#networkOnline === online) return;
    this.#networkOnline = online;
    this.#applyOnline().catch(() => undefined);
  }

  close(): Promise<void> {
    return this.document.close();
  }

  async #applyOnline(): Promise<void> {
    this.#changed();
    if (this.#appOnline && this.#networkOnline) await this.document.goOnline();
    else await this.document.goOffline();
  }

  /** The runtime's status with `online` as the app set it (the network's drops show as `offline`). */
  #compose(): OwnerStatus {
    return { ...this.#from.sync, online: this.#from.appOnline, ...this.#where };
  }

  #changed(): void {
    const from = { sync: this.document.status, appOnline: this.#appOnline };
    if (from.sync === this.#from.sync && from.appOnline === this.#from.appOnline) return;
    this.#from = from;
    this.#status = this.#compose();
    for (const listener of [...this.#listeners]) listener(this.#status);
  }
}
