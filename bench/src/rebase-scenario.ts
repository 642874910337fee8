// The rebase scenario PEERS.md measures Replicache's "true rebase" by: 1000 keys of ~1 KB in the base,
// 1001 pending ~1 KB puts in the overlay, then a burst from the coordinator that takes none of them (one
// frame of another client's put), so every pending mutation is reduced again. Everything the client
// receives is made by a real AuthorityDocument and travels as the encoded `frames` messages a
// coordinator sends, so the timed rebase starts from bytes: decode, page deltas, rebase, replay.
import { readFile } from 'node:fs/promises';
import { AuthorityDocument, type KeptFrame } from '@tandem/coordinator';
import { encodeMessage, type MutationEnvelope, protocolLimits } from '@tandem/runtime';
import { loadReducer } from '@tandem/runtime/prepare';
import type { Put } from './rebase-page-api.js';

export const KV_REDUCER = new URL('../fixtures/kv-reducer/dist/reducer.wasm', import.meta.url);
export const KEYS = 1000;
export const PENDING = 1001;
const KB = 'x'.repeat(1000);

export interface RebaseScenario {
  readonly journalId: string;
  /** `frames` messages that take an empty client to the base (every key present). */
  readonly baseMessages: readonly Uint8Array[];
  /** The client's pending mutations (each one replaces a key the base holds). */
  readonly pending: readonly Put[];
  /** One `frames` message per rebase, in order: each one frame of another client's put. */
  readonly bursts: readonly Uint8Array[];
}

/** Key i's ~1 KB value as the base holds it, and as the client's pending put i writes it. */
export const baseValue = (_i: number): string => KB;
export const pendingValue = (i: number): string => `${i}${KB}`.slice(0, KB.length);
export const basePuts = (): Put[] =>
  Array.from({ length: KEYS }, (_, i) => ({ op: 'put', key: `k${i}`, value: baseValue(i) }));
export const pendingPuts = (): Put[] =>
  Array.from({ length: PENDING }, (_, i) => ({ op: 'put', key: `k${i % KEYS}`, value: pendingValue(i) }));

const encode = (body: object) => new TextEncoder().encode(JSON.stringify(body));
const framesMessage = (kept: readonly KeptFrame[]) =>
  encodeMessage({ type: 'frames', frames: kept.map((k) => k.wire), more: false });

/** Runs the authority side: the base, then `bursts` single-frame bursts from another client. */
export async function makeScenario(bursts: number): Promise<RebaseScenario> {
  const reducer = await loadReducer(await readFile(KV_REDUCER));
  const authority = await AuthorityDocument.open({ docId: 'rebase-bench', reducer });
  try {
    const seed: MutationEnvelope[] = basePuts().map((put, i) => ({
      timelineId: 'seed',
      lsn: i,
      timestamp: 0,
      payload: encode(put),
    }));
    const perPush = protocolLimits.MAX_PUSH_MUTATIONS;
    for (let i = 0; i < seed.length; i += perPush) {
      const [result] = (await authority.push([{ timelineId: 'seed', mutations: seed.slice(i, i + perPush) }]))
        .results;
      if (result?.status !== 'accepted' || result.outcomes.some((o) => !o.ok)) {
        throw new Error(`the seed push was not applied whole (${result?.status})`);
      }
    }
    const base = authority.framesSince(0);
    if (base.status !== 'frames') throw new Error('the authority kept no frames to catch up from');
    const baseMessages: Uint8Array[] = [];
    for (let i = 0; i < base.frames.length; i += protocolLimits.MAX_FRAMES_PER_MESSAGE) {
      baseMessages.push(framesMessage(base.frames.slice(i, i + protocolLimits.MAX_FRAMES_PER_MESSAGE)));
    }
    const burstMessages: Uint8Array[] = [];
    for (let run = 0; run < bursts; run++) {
      const cursor = authority.nextFrameLsn;
      const put = { op: 'put', key: `other${run}`, value: KB };
      const mutation = { timelineId: 'other', lsn: run, timestamp: 0, payload: encode(put) };
      await authority.push([{ timelineId: 'other', mutations: [mutation] }]);
      const since = authority.framesSince(cursor);
      if (since.status !== 'frames' || since.frames.length !== 1) throw new Error('a burst is one frame');
      burstMessages.push(framesMessage(since.frames));
    }
    return {
      journalId: authority.journalId,
      baseMessages,
      pending: pendingPuts(),
      bursts: burstMessages,
    };
  } finally {
    await authority.close();
  }
}

/** The value at fraction `at` (0.5: the median) of `values` sorted. */
const quantile = (values: readonly number[], at: number): number =>
  [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) * at + 0.5)] ?? Number.NaN;

/**
 * The figure's line, for Node and Chromium alike: medians, and how far the middle half of our runs
 * spread (so a median near the goal is told from a reliable one). `cpu`: CPU time per run, where the
 * host can tell (Node), which a busy machine does not inflate as it does wall time.
 */
export function rebaseLine(
  host: 'node' | 'chromium',
  ours: readonly number[],
  floor: readonly number[],
  cpu?: readonly number[],
): string {
  const [o, f] = [quantile(ours, 0.5), quantile(floor, 0.5)];
  const spread = `middle half ${quantile(ours, 0.25).toFixed(1)}-${quantile(ours, 0.75).toFixed(1)}`;
  const cpuNote = cpu === undefined ? '' : `, CPU ${quantile(cpu, 0.5).toFixed(1)} ms`;
  return `rebase ${PENDING} x ~1 KB (${host}): ours ${o.toFixed(1)} ms (${spread}${cpuNote}), floor ${f.toFixed(1)} ms, ratio ${(o / f).toFixed(1)} (goal <= 20 ms; medians of ${ours.length}, interleaved; floor: raw sqlite-wasm, the same puts)`;
}
