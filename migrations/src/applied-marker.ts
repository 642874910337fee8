// The applied marker: per timeline, the lsn of the last mutation the authority has applied (or
// rejected). It lives in the database and is written in the transaction of the mutations it records,
// so it travels with the pages: a client learns which of its mutations a frame holds by reading it.
//
// Invariants:
// 1. A timeline's marker only grows, by exactly the mutations applied after it (no gaps).
// 2. Reducers cannot write it (the guest SQL policy refuses `_tandem_*` tables).

import type { Replica } from '@tandem/runtime';

export const APPLIED_TABLE = '_tandem_applied';

const CREATE = `CREATE TABLE IF NOT EXISTS ${APPLIED_TABLE} (
  timeline_id TEXT PRIMARY KEY,
  applied_lsn INTEGER NOT NULL
) STRICT`;

/** Every timeline's marker; empty when none was ever recorded. */
export function readAppliedMarkers(replica: Replica): Map<string, number> {
  const exists = replica.query("SELECT 1 AS present FROM sqlite_schema WHERE type = 'table' AND name = ?", [
    APPLIED_TABLE,
  ]);
  const markers = new Map<string, number>();
  if (exists.length === 0) return markers;
  for (const row of replica.query(`SELECT timeline_id, applied_lsn FROM ${APPLIED_TABLE}`)) {
    if (typeof row.timeline_id === 'string' && typeof row.applied_lsn === 'number') {
      markers.set(row.timeline_id, row.applied_lsn);
    }
  }
  return markers;
}

/** Writes markers inside the caller's transaction. */
export function writeAppliedMarkers(replica: Replica, markers: ReadonlyMap<string, number>): void {
  if (markers.size === 0) return;
  replica.connection.exec(CREATE);
  replica.connection.executeBatch(
    `INSERT INTO ${APPLIED_TABLE} (timeline_id, applied_lsn) VALUES (?, ?)
       ON CONFLICT (timeline_id) DO UPDATE SET applied_lsn = excluded.applied_lsn`,
    [...markers].map(([timelineId, lsn]) => [
      { tag: 'text', val: timelineId },
      { tag: 'integer', val: BigInt(lsn) },
    ]),
  );
}
