// Where a coordinator keeps its documents and reducers — in memory, a data folder, or a PostgreSQL store
// shared with other coordinators — and, on a shared store, the wiring of its leases (store/leases.ts):
// what a lost lease does to the document's clients, and the claim the document pool waits for before a
// document opens.
//
// Invariants:
// 1. A data folder is checked (created, written, synced) and locked before the coordinator serves, and
//    a PostgreSQL store's schema is upgraded first; whatever was taken is released if the start fails.
// 2. On a shared store a document opens only under this process's lease, and only once the store's
//    current reducer runs here (shared-reducers.ts): a claim that cannot get there gives its lease back.
// 3. A lost lease moves the document's clients on (to its new owner, or to wait) and closes the
//    document here; it is logged and counted.
import { TandemError } from '@tandem/runtime';
import { checkDataFolder, lockDataFolder } from './data-folder.js';
import { errorFields, type Log } from './log.js';
import type { Metrics } from './metrics.js';
import { listDocuments } from './migrate-all.js';
import { isPostgresUrl, type StoreConfig } from './store/coordinator-store.js';
import { DEFAULT_LEASE_MS, LeaseKeeper } from './store/leases.js';
import { migrateSchema } from './store/postgres-schema.js';
import { PostgresStore } from './store/postgres-store.js';
import { postgresReducerShelf, type ReducerShelf } from './store/reducer-shelf.js';

/** Where a coordinator keeps its documents and reducers; undefined fields for a coordinator in memory. */
export interface Persistence {
  /** The documents' store, as the workers open it. */
  readonly store: StoreConfig | undefined;
  /** Where the reducers are kept (a data folder, or the store's tables). */
  readonly reducers: string | ReducerShelf | undefined;
  /** A shared store's connections for this process's leases alone (store/leases.ts). */
  readonly leases?: PostgresStore;
  /** Every document kept, in id order (migrate-all). */
  list(): Promise<string[]>;
  /** Released after the pool closed (the data folder's lock, the store's connections). */
  release(): Promise<void>;
}

/** Opens what `dataDir` or `store` names (invariant 1); a coordinator in memory without either. */
export async function openPersistence(
  options: { readonly dataDir?: string; readonly store?: string; readonly leaseMs?: number },
  log: Log,
): Promise<Persistence> {
  if (options.store !== undefined) {
    if (options.dataDir !== undefined) {
      throw new TandemError('invalid-argument', 'give a data folder (dataDir) or a store, not both');
    }
    if (!isPostgresUrl(options.store)) {
      throw new TandemError('invalid-argument', `store ${options.store}: expected a postgres:// URL`);
    }
    const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    const postgres = new PostgresStore(options.store, { maxConnections: 2, use: 'admin', leaseMs });
    // The leases' own connections: frame writes or a deploy's reducer bytes never delay a renewal.
    const leasing = new PostgresStore(options.store, { maxConnections: 2, use: 'leases', leaseMs });
    const release = async () => {
      await Promise.all([postgres.close(), leasing.close()]);
    };
    try {
      const applied = await migrateSchema(postgres.pool);
      if (applied.length > 0) log.info({ applied }, 'store schema upgraded');
    } catch (error) {
      await release();
      throw error;
    }
    return {
      store: { kind: 'postgres', url: options.store, leaseMs },
      reducers: postgresReducerShelf(postgres.pool),
      leases: leasing,
      list: () => postgres.listDocuments(),
      release,
    };
  }
  if (options.dataDir === undefined) {
    return { store: undefined, reducers: undefined, list: async () => [], release: async () => undefined };
  }
  const dataDir = options.dataDir;
  await checkDataFolder(dataDir);
  const lock = await lockDataFolder(dataDir);
  return {
    store: { kind: 'files', dataDir },
    reducers: dataDir,
    list: () => listDocuments(dataDir),
    release: () => lock.release(),
  };
}

/**
 * The shared store's lease keeper (store/leases.ts), its events logged and counted; `moveClients` is
 * told of each lost lease, and the document closed by `closeDocument` (invariant 3).
 */
export function keepLeases(
  leasing: PostgresStore,
  options: {
    readonly leaseMs: number | undefined;
    readonly address: () => string | undefined;
    readonly log: Log;
    readonly metrics: () => Metrics;
    readonly moveClients: (docId: string, why: string) => void;
    readonly closeDocument: (docId: string) => Promise<void>;
  },
): LeaseKeeper {
  const { log, metrics } = options;
  return new LeaseKeeper(leasing.pool, {
    ...(options.leaseMs !== undefined && { leaseMs: options.leaseMs }),
    address: options.address,
    events: {
      taken: () => metrics().inc('tandem_leases_taken_total'),
      renewed: (count) => metrics().inc('tandem_leases_renewed_total', {}, count),
      lost: (docId, why) => {
        log.warn({ docId, why }, 'lease lost');
        metrics().inc('tandem_leases_lost_total');
        // Another coordinator may own it now: its clients go there (or wait for it), and the
        // document closes here. Its writes here were fenced already (postgres-store.ts).
        options.moveClients(docId, why);
        void options.closeDocument(docId).catch(() => undefined);
      },
      failed: (error) => log.error(errorFields(error), 'lease renewal failed'),
    },
  });
}

/** The document pool's claim and unclaim on a shared store (invariant 2). */
export function leaseClaims(
  leases: LeaseKeeper,
  inStep: (docId: string) => Promise<void>,
): { claim(docId: string): Promise<void>; unclaim(docId: string): Promise<void> } {
  return {
    claim: async (docId) => {
      await leases.claim(docId);
      try {
        // Never opened under an older reducer than the store's current one (shared-reducers.ts).
        await inStep(docId);
      } catch (error) {
        await leases.release(docId).catch(() => undefined);
        throw error;
      }
    },
    unclaim: (docId) => leases.release(docId),
  };
}
