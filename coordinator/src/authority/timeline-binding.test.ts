// The class of finding 6 (issue 8): writing on a timeline without its secret. Whatever the order of
// pushes, their grouping into one transaction, and reopens of the document, a timeline takes mutations
// only from the client whose secret first wrote on it.
import { readFile } from 'node:fs/promises';
import {
  APPLIED_TABLE,
  MemoryByteStore,
  type MutationEnvelope,
  Replica,
  readAppliedMarkers,
  readTimelineBindings,
  writeAppliedMarkers,
} from '@tandem/runtime';
import { loadReducer } from '@tandem/runtime/prepare';
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { AuthorityDocument, type PushRequest } from './authority-document.js';

const SEED = Number(process.env.FC_SEED ?? 20_261_204);
const reducer = await loadReducer(
  await readFile(new URL('../../../reducers/todo/dist/reducer.wasm', import.meta.url)),
);
const TIMELINES = ['t0', 't1'] as const;
/** A hash per client: what the coordinator hands the document for each client's secret. */
const HASHES = ['0', '1', '2'].map((c) => c.repeat(64));
let docs = 0;

interface Attempt {
  readonly client: number;
  readonly timeline: (typeof TIMELINES)[number];
  readonly count: number;
}
/** Pushes sent together (one transaction), or a reopen of the document from its files. */
type Step = { readonly kind: 'push'; readonly attempts: readonly Attempt[] } | { readonly kind: 'reopen' };

const attempt: fc.Arbitrary<Attempt> = fc.record({
  client: fc.integer({ min: 0, max: HASHES.length - 1 }),
  timeline: fc.constantFrom(...TIMELINES),
  count: fc.integer({ min: 1, max: 3 }),
});
const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('push' as const),
      attempts: fc.array(attempt, { minLength: 1, maxLength: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
);

function envelope(timelineId: string, lsn: number, id: string): MutationEnvelope {
  return {
    timelineId,
    lsn,
    timestamp: 1_700_000_000_000 + lsn,
    payload: new TextEncoder().encode(JSON.stringify({ type: 'create', id, title: id })),
  };
}

test('a timeline takes mutations only from the client whose secret first wrote on it', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
      const storage = new MemoryByteStore();
      const docId = `binding-${++docs}`;
      let doc = await AuthorityDocument.open({ docId, reducer, storage });
      const owner = new Map<string, number>();
      const marker = new Map<string, number>();
      const expected: string[] = [];
      try {
        for (const s of steps) {
          if (s.kind === 'reopen') {
            await doc.close();
            doc = await AuthorityDocument.open({ docId, reducer, storage });
            continue;
          }
          // Each attempt continues the timeline as the model knows it, so only the binding can refuse it.
          const planned = new Map(marker);
          const requests: PushRequest[] = s.attempts.map(({ client, timeline, count }) => {
            const from = (planned.get(timeline) ?? -1) + 1;
            const mutations = Array.from({ length: count }, (_, i) =>
              envelope(timeline, from + i, `${timeline}-${from + i}-c${client}`),
            );
            if (owner.get(timeline) === undefined) owner.set(timeline, client);
            if (owner.get(timeline) === client) planned.set(timeline, from + count - 1);
            return { timelineId: timeline, secretHash: HASHES[client]!, mutations };
          });
          const report = await doc.push(requests);
          s.attempts.forEach(({ client, timeline }, i) => {
            const result = report.results[i];
            if (owner.get(timeline) === client) {
              expect(result).toMatchObject({ status: 'accepted' });
              for (const m of requests[i]!.mutations) expected.push(new TextDecoder().decode(m.payload));
            } else {
              expect(result).toMatchObject({ status: 'refused', kind: 'timeline-taken' });
            }
          });
          for (const [timeline, lsn] of planned) marker.set(timeline, lsn);
          for (const timeline of TIMELINES) {
            for (const [client, hash] of HASHES.entries()) {
              const bound = owner.get(timeline);
              expect(doc.timelineTaken(timeline, hash)).toBe(bound !== undefined && bound !== client);
            }
          }
        }
        const ids = doc.query('SELECT id FROM todos ORDER BY id').map((row) => String(row.id));
        expect(ids).toEqual(expected.map((json) => JSON.parse(json).id as string).sort());
        const bound =
          owner.size === 0
            ? []
            : doc.query(`SELECT timeline_id, secret_hash FROM ${APPLIED_TABLE} ORDER BY timeline_id`);
        expect(bound).toEqual(
          [...owner]
            .sort()
            .map(([timeline, client]) => ({ timeline_id: timeline, secret_hash: HASHES[client] })),
        );
      } finally {
        await doc.close();
      }
    }),
    { seed: SEED, numRuns: 60 },
  );
});

test('a push without a secret is refused on a bound timeline, and binds no unbound one', async () => {
  const doc = await AuthorityDocument.open({ docId: `binding-${++docs}`, reducer });
  const anonymous = await doc.push([{ timelineId: 't', mutations: [envelope('t', 0, 'a')] }]);
  expect(anonymous.results[0]).toMatchObject({ status: 'accepted' });
  expect(doc.timelineTaken('t', HASHES[0])).toBe(false);
  await doc.push([{ timelineId: 't', secretHash: HASHES[0]!, mutations: [envelope('t', 1, 'b')] }]);
  const after = await doc.push([{ timelineId: 't', mutations: [envelope('t', 2, 'c')] }]);
  expect(after.results[0]).toMatchObject({ status: 'refused', kind: 'timeline-taken', appliedLsn: 1 });
  expect(after.frameLsn).toBeUndefined();
  await doc.close();
});

test('a marker table from before bindings gains the column, and its timelines are bound by their next push', async () => {
  const replica = await Replica.open({ name: `binding-legacy-${++docs}`, reducer, authoritative: true });
  try {
    // The table as coordinators wrote it before protocol v3, with a marker and no binding.
    replica.transaction(() => {
      replica.connection.exec(
        `CREATE TABLE ${APPLIED_TABLE} (timeline_id TEXT PRIMARY KEY, applied_lsn INTEGER NOT NULL) STRICT`,
      );
      replica.connection.exec(`INSERT INTO ${APPLIED_TABLE} VALUES ('old', 4), ('idle', 2)`);
    });
    expect(readTimelineBindings(replica)).toEqual(new Map());
    replica.transaction(() => {
      writeAppliedMarkers(replica, new Map([['old', 5]]), new Map([['old', HASHES[0]!]]));
    });
    expect(readTimelineBindings(replica)).toEqual(new Map([['old', HASHES[0]]]));
    // A binding never changes, whatever a later write asks.
    replica.transaction(() => {
      writeAppliedMarkers(replica, new Map([['old', 6]]), new Map([['old', HASHES[1]!]]));
    });
    expect(readTimelineBindings(replica)).toEqual(new Map([['old', HASHES[0]]]));
    expect(readAppliedMarkers(replica)).toEqual(
      new Map([
        ['idle', 2],
        ['old', 6],
      ]),
    );
  } finally {
    replica.close();
  }
});
