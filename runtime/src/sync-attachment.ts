// A document's SyncClient, attached as the document opens or later: a host may load the sync code (its
// modules, the socket library) once the document has answered from its own pages, so that a synced
// document's first answer costs what an unsynced one's does. Until the client is there the document
// reads as one whose client has just started.
//
// Invariants:
// 1. From `expect` (or `attach`) on, the document syncs: what waits on the coordinator waits, and the
//    state reads `connecting` (`offline` while the app has taken the document offline), as a client's
//    does from `start` until its first socket is open.
// 2. The client arrives once and starts at once, already taken offline when the app did so before: no
//    mutation made meanwhile is lost (each session pushes everything pending after the coordinator's
//    marker, sync-client.ts S2), and its first state is the one read before it arrived.
// 3. A document closed before its client arrives never starts it: no socket is opened.
// 4. A client that cannot be made (its code did not load) stops syncing for good, as a client's own
//    failure does (`sync-failed`), so nothing waits forever (local-document.ts invariant 8).
// 5. `askHead` made before the client arrives is asked of it once it does; it rejects when it cannot
//    arrive (invariants 3, 4).
import { TandemError } from './errors.js';
import type { RedirectRefusal } from './sync/coordinator-list.js';
import type { ReducerWait, SyncClient, SyncState } from './sync/sync-client.js';
import { SyncFailure } from './sync/sync-failure.js';
import type { HeadAnswer } from './sync/sync-waits.js';

/** What the attachment tells its document. */
export interface AttachmentSite {
  readonly docId: string;
  /** False from the app's `goOffline()` until its `goOnline()`. */
  readonly online: () => boolean;
  /** The client could not be made (invariant 4). */
  readonly failed: (failure: SyncFailure) => void;
}

export class SyncAttachment {
  readonly #site: AttachmentSite;
  #client: SyncClient | undefined;
  /** From `expect` until the client arrives or cannot (invariant 1). */
  #coming = false;
  #failed = false;
  #closed = false;
  /** `askHead` calls made before the client arrived (invariant 5). */
  readonly #asked: {
    readonly resolve: (client: SyncClient) => void;
    readonly reject: (error: Error) => void;
  }[] = [];

  constructor(site: AttachmentSite) {
    this.#site = site;
  }

  /** True once the document syncs (invariant 1), whether or not its client has arrived. */
  get syncs(): boolean {
    return this.#client !== undefined || this.#coming;
  }

  /** The client, once it arrived. */
  get client(): SyncClient | undefined {
    return this.#client;
  }

  get state(): SyncState {
    if (this.#client !== undefined) return this.#client.state;
    if (this.#failed) return 'failed';
    if (!this.#coming) return 'offline';
    return this.#site.online() ? 'connecting' : 'offline';
  }

  get waitingFor(): ReducerWait | undefined {
    return this.#client?.waitingFor;
  }

  get lastDrop(): string | undefined {
    return this.#client?.lastDrop;
  }

  get redirectRefused(): RedirectRefusal | undefined {
    return this.#client?.redirectRefused;
  }

  /**
   * The host attaches the client (`attach`) by the time `attaching` resolves; until then the document
   * syncs without it (invariant 1). A rejection, or no client by then, stops syncing (invariant 4).
   */
  expect(attaching: Promise<void>): void {
    this.#checkUnattached();
    this.#coming = true;
    attaching.then(
      () => {
        if (this.#coming) this.#fail('the host made no sync client');
      },
      (error: unknown) => {
        if (this.#coming) this.#fail(error instanceof Error ? error.message : String(error));
      },
    );
  }

  /** Starts `client` (invariant 2), unless the document closed meanwhile (invariant 3). */
  attach(client: SyncClient): void {
    if (!this.#coming) this.#checkUnattached();
    this.#coming = false;
    if (this.#closed) return;
    this.#client = client;
    if (!this.#site.online()) client.goOffline();
    client.start();
    for (const waiter of this.#asked.splice(0)) waiter.resolve(client);
  }

  /** Asks the coordinator where its journal stands, through the client once it is there (invariant 5). */
  async askHead(): Promise<HeadAnswer> {
    const client =
      this.#client ??
      (await new Promise<SyncClient>((resolve, reject) => this.#asked.push({ resolve, reject })));
    return client.askHead();
  }

  pendingChanged(): void {
    this.#client?.pendingChanged();
  }

  goOffline(): void {
    this.#client?.goOffline();
  }

  goOnline(): void {
    this.#client?.goOnline();
  }

  close(): void {
    this.#closed = true;
    this.#coming = false;
    this.#client?.close();
    this.#giveUp(new TandemError('closed', 'the sync client was closed'));
  }

  #fail(why: string): void {
    this.#coming = false;
    this.#failed = true;
    const failure = new SyncFailure('client-unavailable', `the sync client could not be made: ${why}`);
    this.#giveUp(failure);
    this.#site.failed(failure);
  }

  #giveUp(error: Error): void {
    for (const waiter of this.#asked.splice(0)) waiter.reject(error);
  }

  #checkUnattached(): void {
    if (this.syncs || this.#failed) {
      throw new TandemError('invalid-argument', `document ${this.#site.docId} already syncs`);
    }
  }
}
