// Deterministic workloads for the cross-environment determinism test. Pure (no node:, no DOM) so
// the same module drives Node and the Chromium worker.
import { mulberry32 } from '@tandem/runtime/testing/seeded-random';

export const TIMELINE_ID = 'determinism-timeline';

export type WorkloadMutation = Record<string, unknown> | Uint8Array;

export interface WorkloadBatch {
  readonly timestamp: number;
  readonly mutations: readonly WorkloadMutation[];
}

/** Todo mutations, valid and invalid mixed, in batches of varied size. */
export function todoWorkload(seed: number, batchCount: number): WorkloadBatch[] {
  const next = mulberry32(seed);
  const pick = (n: number) => Math.floor(next() * n);
  const ids: string[] = [];
  const batches: WorkloadBatch[] = [];
  let timestamp = 1_700_000_000_000;
  for (let b = 0; b < batchCount; b++) {
    const mutations: WorkloadMutation[] = [];
    const size = 1 + pick(20);
    for (let i = 0; i < size; i++) {
      const known = ids.length > 0 ? ids[pick(ids.length)]! : 'none';
      switch (pick(9)) {
        case 0:
        case 1:
        case 2: {
          const id = `t${pick(1000)}`;
          ids.push(id);
          mutations.push({ type: 'create', id, title: `todo ${id} ✓ ${'x'.repeat(pick(60))}` });
          break;
        }
        case 3:
          mutations.push({ type: 'toggle', id: pick(4) === 0 ? 'ghost' : known });
          break;
        case 4:
          mutations.push({ type: 'rename', id: known, title: pick(5) === 0 ? '' : `renamed ${pick(100)}` });
          break;
        case 5:
          mutations.push({ type: 'delete', id: known });
          break;
        case 6:
          mutations.push(pick(3) === 0 ? { type: 'clearCompleted' } : { type: 'toggle', id: known });
          break;
        case 7:
          mutations.push({ type: 'create', id: `long${pick(100)}`, title: 'y'.repeat(201) });
          break;
        default:
          mutations.push(pick(2) === 0 ? { type: 'explode' } : new TextEncoder().encode('{"type":"create",'));
      }
    }
    timestamp += 1 + pick(5000);
    batches.push({ timestamp, mutations });
  }
  return batches;
}

/**
 * Mutations for the entropy reducer (e2e/fixtures/entropy-reducer): `{ n }` draws n rows from every
 * source of time and randomness a reducer has; `{ fail: true }` writes and is then rejected.
 */
export function entropyWorkload(seed: number, batchCount: number): WorkloadBatch[] {
  const next = mulberry32(seed);
  const batches: WorkloadBatch[] = [];
  let timestamp = 1_700_000_000_000;
  for (let b = 0; b < batchCount; b++) {
    const mutations: WorkloadMutation[] = [];
    const size = 1 + Math.floor(next() * 8);
    for (let i = 0; i < size; i++) {
      mutations.push(next() < 0.15 ? { fail: true } : { n: 1 + Math.floor(next() * 5) });
    }
    timestamp += 1 + Math.floor(next() * 90_000_000);
    batches.push({ timestamp, mutations });
  }
  return batches;
}

/** Workloads cross process and page boundaries as JSON: raw payload bytes become `{ bytes: [...] }`. */
export type JsonWorkload = readonly {
  timestamp: number;
  mutations: (Record<string, unknown> | { bytes: number[] })[];
}[];

export function toJson(batches: readonly WorkloadBatch[]): JsonWorkload {
  return batches.map((b) => ({
    timestamp: b.timestamp,
    mutations: b.mutations.map((m) => (m instanceof Uint8Array ? { bytes: [...m] } : m)),
  }));
}

export function fromJson(json: JsonWorkload): WorkloadBatch[] {
  return json.map((b) => ({
    timestamp: b.timestamp,
    mutations: b.mutations.map((m) =>
      Array.isArray(m.bytes) && Object.keys(m).length === 1 ? new Uint8Array(m.bytes as number[]) : m,
    ),
  }));
}
