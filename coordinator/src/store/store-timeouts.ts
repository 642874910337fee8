// How long a PostgreSQL connection attempt or statement may take, by what it is for, relative to the
// lease time L (leases.ts). A PostgreSQL that hangs (stopped, or a lock held by another session) must
// never hang the coordinator: each pool gives up after its time, both on the client (`query_timeout`,
// `connectionTimeoutMillis`: a server that does not answer at all) and on the server
// (`statement_timeout`: a statement waiting for a lock ends there too, so its connection is free again).
//
// - leases (claims, renewals, releases; their own pool, so frame writes never starve them): L/3, one
//   renewal period, so a renewal that hangs has given up before the next one is due, and two more
//   tries fit in a lease.
// - documents (frame writes, checkpoints, opens, in the workers): L. A write still unanswered after a
//   whole lease cannot count any longer: its owner has declared the lease lost by then (leases.ts,
//   the local expiry clock) and closed its clients; failing the write lets the document close.
// - admin (the main thread's pool: schema upgrades at start, which wait for the other coordinators'
//   schema lock, the reducers' tables, the document list): 3L, at least 10 s. Not on a lease's clock,
//   but never for ever.

/** A pool's timeouts, in milliseconds (node-postgres `Pool` options). */
export interface PoolTimeouts {
  readonly connectionTimeoutMillis: number;
  readonly query_timeout: number;
  readonly statement_timeout: number;
}

export type PoolUse = 'leases' | 'documents' | 'admin';

export function poolTimeouts(use: PoolUse, leaseMs: number): PoolTimeouts {
  const ms =
    use === 'leases'
      ? Math.max(Math.ceil(leaseMs / 3), 1000)
      : use === 'documents'
        ? Math.max(leaseMs, 2000)
        : Math.max(3 * leaseMs, 10_000);
  return { connectionTimeoutMillis: ms, query_timeout: ms, statement_timeout: ms };
}
