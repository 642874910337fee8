// Runs a workload through host-node and returns the page hash and the outcomes. Used in-process by
// the determinism test and as a separate process through `node-run.ts`.
import { openDocument, type Row } from '@tandem/host-node';
import type { ReducerLimits } from '@tandem/runtime';
import { TIMELINE_ID, type WorkloadBatch } from './workload.js';

export interface RunResult {
  readonly hash: string;
  readonly outcomes: readonly string[];
  /** The rows of `query`, when one was given. */
  readonly rows?: readonly Row[];
}

export async function runInNode(
  reducerPath: string,
  batches: readonly WorkloadBatch[],
  timelineId = TIMELINE_ID,
  query?: string,
  limits: Partial<ReducerLimits> = {},
): Promise<RunResult> {
  const doc = await openDocument({ docId: 'determinism', reducer: reducerPath, timelineId, limits });
  const outcomes: string[] = [];
  for (const batch of batches) {
    const results = await doc.mutateBatch(batch.mutations, { timestamp: batch.timestamp });
    for (const r of results) outcomes.push(r.status === 'applied' ? 'ok' : r.reason);
  }
  const hash = await doc.pageHash();
  const rows = query === undefined ? undefined : await doc.query(query);
  await doc.close();
  return { hash, outcomes, ...(rows && { rows }) };
}
