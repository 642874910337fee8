// The applied marker: per timeline, the lsn of the last mutation the authority has applied (or
// rejected). It lives in the database and is written in the transaction of the mutations it records,
// so it travels with the pages: a client learns which of its mutations a frame holds by reading it.
//
// Beside it, the rejections: why the authority's reducer refused a mutation, so a client learns the
// fate of each of its mutations from the pages alone, even when the push's answer never reached it.
//
// And each timeline's binding: the SHA-256 (hex) of the secret of the client that first wrote on it
// (runtime storage/timeline-secret.ts). The hash of 256 random bits reveals nothing worth having, so it
// travels with the pages like the markers.
//
// Invariants:
// 1. A timeline's marker only grows, by exactly the mutations applied after it (no gaps).
// 2. Reducers cannot write either table (the guest SQL policy refuses `_tandem_*` tables).
// 3. A timeline keeps its last REJECTIONS_KEPT rejections: a client further behind than that learns
//    only that its mutation was taken.
// 4. A binding is written in the transaction of the first mutations taken under it (so a timeline id
//    visible in the pages is always bound) and never changes. Markers written before bindings existed
//    have none until their timeline's next push binds them.

import type { Replica } from './replica.js';
import { SqlError } from './sqlite/connection.js';
import type { PlainValue } from './value.js';

export const APPLIED_TABLE = '_tandem_applied';
export const REJECTED_TABLE = '_tandem_rejected';
export const REJECTIONS_KEPT = 1000;

const CREATE = `CREATE TABLE IF NOT EXISTS ${APPLIED_TABLE} (
  timeline_id TEXT PRIMARY KEY,
  applied_lsn INTEGER NOT NULL,
  secret_hash TEXT
) STRICT`;

/** Every timeline's marker; empty when none was ever recorded. */
export function readAppliedMarkers(replica: Replica): Map<string, number> {
  const markers = new Map<string, number>();
  if (!replica.hasTable(APPLIED_TABLE)) return markers;
  for (const row of replica.query(`SELECT timeline_id, applied_lsn FROM ${APPLIED_TABLE}`)) {
    if (typeof row.timeline_id === 'string' && typeof row.applied_lsn === 'number') {
      markers.set(row.timeline_id, row.applied_lsn);
    }
  }
  return markers;
}

/** One timeline's marker (-1 when it never pushed): a client asks this after every rebase. */
export function readAppliedLsn(replica: Replica, timelineId: string): number {
  let rows: Record<string, PlainValue>[];
  try {
    // One statement on the way every frame takes; the table's absence is asked only when it fails.
    rows = replica.query(`SELECT applied_lsn FROM ${APPLIED_TABLE} WHERE timeline_id = ?`, [timelineId]);
  } catch (error) {
    if (error instanceof SqlError && !replica.hasTable(APPLIED_TABLE)) return -1;
    throw error;
  }
  const value = rows[0]?.applied_lsn;
  return typeof value === 'number' ? value : -1;
}

/**
 * readAppliedLsn for an open: asks first whether the table exists, with the look-up the open made
 * already (Replica.hasTable), instead of preparing a statement that fails on a document that never
 * synced (a failed prepare and its error cost more than the look-up).
 */
export function readAppliedLsnAtOpen(replica: Replica, timelineId: string): number {
  return replica.hasTable(APPLIED_TABLE) ? readAppliedLsn(replica, timelineId) : -1;
}

/** Every bound timeline's secret hash (invariant 4). */
export function readTimelineBindings(replica: Replica): Map<string, string> {
  const bindings = new Map<string, string>();
  if (!hasBindingColumn(replica)) return bindings;
  for (const row of replica.query(
    `SELECT timeline_id, secret_hash FROM ${APPLIED_TABLE} WHERE secret_hash IS NOT NULL`,
  )) {
    if (typeof row.timeline_id === 'string' && typeof row.secret_hash === 'string') {
      bindings.set(row.timeline_id, row.secret_hash);
    }
  }
  return bindings;
}

function hasBindingColumn(replica: Replica): boolean {
  return (
    replica.query(`SELECT 1 AS present FROM pragma_table_info('${APPLIED_TABLE}') WHERE name = 'secret_hash'`)
      .length > 0
  );
}

/**
 * Writes markers inside the caller's transaction, and binds the timelines of `bindings` that have no
 * binding yet (a binding never changes: invariant 4). With `tableReady`, the caller knows a committed
 * transaction of this replica already wrote markers here (so the table has its binding column, and no
 * reducer can change it: invariant 2): the table is not checked again, two statements saved per push.
 */
export function writeAppliedMarkers(
  replica: Replica,
  markers: ReadonlyMap<string, number>,
  bindings: ReadonlyMap<string, string> = new Map(),
  tableReady = false,
): void {
  if (markers.size === 0) return;
  if (!tableReady) {
    replica.connection.exec(CREATE);
    // A table from before bindings (invariant 4) gains the column in this transaction.
    if (!hasBindingColumn(replica))
      replica.connection.exec(`ALTER TABLE ${APPLIED_TABLE} ADD COLUMN secret_hash TEXT`);
  }
  replica.connection.executeBatch(
    `INSERT INTO ${APPLIED_TABLE} (timeline_id, applied_lsn, secret_hash) VALUES (?, ?, ?)
       ON CONFLICT (timeline_id) DO UPDATE SET applied_lsn = excluded.applied_lsn,
         secret_hash = coalesce(secret_hash, excluded.secret_hash)`,
    [...markers].map(([timelineId, lsn]) => {
      const hash = bindings.get(timelineId);
      return [
        { tag: 'text', val: timelineId },
        { tag: 'integer', val: BigInt(lsn) },
        hash === undefined ? { tag: 'null' } : { tag: 'text', val: hash },
      ];
    }),
  );
}

/** Records rejections inside the caller's transaction, dropping each timeline's oldest beyond the limit. */
export function writeRejections(
  replica: Replica,
  rejections: readonly { readonly timelineId: string; readonly lsn: number; readonly reason: string }[],
): void {
  if (rejections.length === 0) return;
  replica.connection.exec(`CREATE TABLE IF NOT EXISTS ${REJECTED_TABLE} (
    timeline_id TEXT NOT NULL,
    lsn INTEGER NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (timeline_id, lsn)
  ) STRICT, WITHOUT ROWID`);
  replica.connection.executeBatch(
    `INSERT OR REPLACE INTO ${REJECTED_TABLE} (timeline_id, lsn, reason) VALUES (?, ?, ?)`,
    rejections.map((r) => [
      { tag: 'text', val: r.timelineId },
      { tag: 'integer', val: BigInt(r.lsn) },
      { tag: 'text', val: r.reason },
    ]),
  );
  for (const timelineId of new Set(rejections.map((r) => r.timelineId))) {
    replica.connection.execute(
      `DELETE FROM ${REJECTED_TABLE} WHERE timeline_id = ?1 AND lsn < (
         SELECT lsn FROM ${REJECTED_TABLE} WHERE timeline_id = ?1 ORDER BY lsn DESC LIMIT 1 OFFSET ${REJECTIONS_KEPT - 1})`,
      [{ tag: 'text', val: timelineId }],
    );
  }
}

/** The rejections recorded for a timeline with lsn in [from, to]. */
export function readRejections(
  replica: Replica,
  timelineId: string,
  from: number,
  to: number,
): Map<number, string> {
  const reasons = new Map<number, string>();
  if (to < from || !replica.hasTable(REJECTED_TABLE)) return reasons;
  for (const row of replica.query(
    `SELECT lsn, reason FROM ${REJECTED_TABLE} WHERE timeline_id = ? AND lsn BETWEEN ? AND ?`,
    [timelineId, from, to],
  )) {
    if (typeof row.lsn === 'number' && typeof row.reason === 'string') reasons.set(row.lsn, row.reason);
  }
  return reasons;
}
