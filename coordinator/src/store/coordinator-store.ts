// What the coordinator keeps, and where: each document's history (frames, checkpoint images, its
// journalId), the list of documents, and the reducers it ran. Two stores keep it:
// - files (the embedded default): a data folder, one folder per document holding runtime's journal,
//   and `.reducers/` (reducer-registry.ts);
// - PostgreSQL (`--store postgres://…`): the tables of coordinator/sql (postgres-store.ts).
//
// A store is named by a plain description (StoreConfig) because the document workers are threads:
// each opens its own connections to it (document-worker.ts), and the main thread keeps one for the
// list of documents and the reducers.
import { documentFolder, FsByteStore } from '@tandem/host-node';
import { type AuthorityStore, fileAuthorityStore } from '../authority/authority-store.js';
import { listDocuments as listDocumentFolders } from '../migrate-all.js';
import { PostgresStore } from './postgres-store.js';

export type StoreConfig =
  | { readonly kind: 'files'; readonly dataDir: string }
  | {
      readonly kind: 'postgres';
      readonly url: string;
      /** This coordinator's owner id: documents open under its leases only (store/leases.ts). */
      readonly owner?: string;
      /** The lease time the connections' timeouts follow (store-timeouts.ts); 10 s by default. */
      readonly leaseMs?: number;
    };

/** A document's storage as a worker holds it while the document is open. */
export interface OpenedStorage {
  readonly store: AuthorityStore;
  /** Releases what the open holds (a folder's lock and handles). */
  release(): Promise<void>;
}

/** One thread's access to the store's documents. */
export interface DocumentStores {
  open(docId: string): Promise<OpenedStorage>;
  /** Every document the store holds, in id order. */
  list(): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * The stores documents open in. `syncOnThread` says whether a small sync of a document's files may hold
 * the calling thread now (host-node FsByteStoreOptions); the file store only.
 */
export function documentStores(
  config: StoreConfig,
  options: { readonly syncOnThread?: () => boolean } = {},
): DocumentStores {
  if (config.kind === 'postgres') {
    const postgres = new PostgresStore(config.url, {
      use: 'documents',
      ...(config.owner !== undefined && { owner: config.owner }),
      ...(config.leaseMs !== undefined && { leaseMs: config.leaseMs }),
    });
    return {
      open: async (docId) => ({ store: postgres.document(docId), release: async () => undefined }),
      list: () => postgres.listDocuments(),
      close: () => postgres.close(),
    };
  }
  return {
    open: async (docId) => {
      const files = await FsByteStore.open(documentFolder(config.dataDir, docId), options);
      return { store: fileAuthorityStore(files), release: () => files.close() };
    },
    list: () => listDocumentFolders(config.dataDir),
    close: async () => undefined,
  };
}

/** `postgres://…` or `postgresql://…`: a PostgreSQL store's URL. */
export function isPostgresUrl(text: string): boolean {
  return /^postgres(ql)?:\/\//.test(text);
}
