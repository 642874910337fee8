// Stored pages are canonical (issue 10, must-show 8; runtime/src/vfs/capture-vfs.ts invariant 3): the same
// mutations give byte-identical pages however they were batched — awaited one by one, queued together
// (one flush), in mutateBatch calls — and after the document was reopened from its files between
// batches. Both a plain reducer (todo) and one that draws from every source of time and randomness.
import { readFile } from 'node:fs/promises';
import { schemaLifecycle } from '@tandem/migrations';
import { MemoryByteStore, type ReducerModule } from '@tandem/runtime';
import { openLocalDocument } from '@tandem/runtime/local';
import { loadReducer } from '@tandem/runtime/prepare';
import fc from 'fast-check';
import { expect, test } from 'vitest';

const SEED = Number(process.env.FC_SEED ?? 20_261_210);
const TIMESTAMP = 1_700_000_000_000;
const TIMELINE = 'canonical-timeline';

const load = async (path: string) => loadReducer(await readFile(new URL(path, import.meta.url)));
const todo = await load('../../reducers/todo/dist/reducer.wasm');
const entropy = await load('../../e2e/fixtures/entropy-reducer/dist/reducer.wasm');

type How = 'one by one' | 'together' | 'batch';
interface Step {
  readonly size: number;
  readonly how: How;
  /** Close the document after this step and open it again from its files. */
  readonly reopen: boolean;
}

const steps = fc.array(
  fc.record({
    size: fc.integer({ min: 1, max: 12 }),
    how: fc.constantFrom<How>('one by one', 'together', 'batch'),
    reopen: fc.boolean(),
  }),
  { minLength: 1, maxLength: 8 },
);

const id = fc.constantFrom('a', 'b', 'c', 'd');
const todoMutation = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ type: fc.constant('create'), id, title: fc.string({ maxLength: 30 }) }),
  },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('toggle'), id }) },
  {
    weight: 1,
    arbitrary: fc.record({ type: fc.constant('rename'), id, title: fc.string({ maxLength: 30 }) }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('delete'), id }) },
  { weight: 1, arbitrary: fc.constant({ type: 'clearCompleted' }) },
  { weight: 1, arbitrary: fc.constant({ type: 'explode' }) },
);
const entropyMutation = fc.oneof(
  { weight: 4, arbitrary: fc.record({ n: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 1, arbitrary: fc.constant({ fail: true }) },
);

let docs = 0;

/** Applies `mutations` as `plan` says, reopening where it says; returns the outcomes and the page hash. */
async function run(
  reducer: ReducerModule,
  mutations: readonly unknown[],
  plan: readonly Step[],
): Promise<{ outcomes: string[]; hash: string; reopenedHash: string }> {
  const storage = new MemoryByteStore();
  const docId = `canonical-${++docs}`;
  const open = () =>
    openLocalDocument({ schema: schemaLifecycle, docId, reducer, timelineId: TIMELINE, storage });
  let doc = await open();
  const outcomes: string[] = [];
  const options = { timestamp: TIMESTAMP };
  let at = 0;
  try {
    for (let i = 0; at < mutations.length; i++) {
      const step = plan[i % plan.length]!;
      const group = mutations.slice(at, at + step.size);
      at += group.length;
      let results: { status: string; reason?: string }[];
      if (step.how === 'batch') results = await doc.mutateBatch(group, options);
      else if (step.how === 'together') results = await Promise.all(group.map((m) => doc.mutate(m, options)));
      else {
        results = [];
        for (const m of group) results.push(await doc.mutate(m, options));
      }
      outcomes.push(...results.map((r) => (r.status === 'applied' ? 'ok' : `${r.status}: ${r.reason}`)));
      if (step.reopen) {
        await doc.close();
        doc = await open();
      }
    }
    const hash = await doc.pageHash();
    await doc.close();
    doc = await open();
    return { outcomes, hash, reopenedHash: await doc.pageHash() };
  } finally {
    await doc.close();
  }
}

const cases: { name: string; reducer: ReducerModule; mutation: fc.Arbitrary<object> }[] = [
  { name: 'todo', reducer: todo, mutation: todoMutation },
  {
    name: 'entropy (SQL random(), randomblob, random rowids, now, Math.random)',
    reducer: entropy,
    mutation: entropyMutation,
  },
];

test.each(cases)(
  `the same $name mutations give the same pages batched in any way and after reopens (seed ${SEED})`,
  async ({ reducer, mutation }) => {
    const property = fc.asyncProperty(
      fc.array(mutation, { minLength: 1, maxLength: 40 }),
      steps,
      async (mutations, plan) => {
        const reference = await run(reducer, mutations, [
          { size: mutations.length, how: 'batch', reopen: false },
        ]);
        const other = await run(reducer, mutations, plan);
        expect(other.outcomes).toEqual(reference.outcomes);
        expect(other.hash).toBe(reference.hash);
        expect(other.reopenedHash).toBe(reference.hash);
        expect(reference.reopenedHash).toBe(reference.hash);
      },
    );
    try {
      await fc.assert(property, { seed: SEED, numRuns: 12 });
    } catch (error) {
      throw new Error(`canonical pages failed; replay with FC_SEED=${SEED}`, { cause: error });
    }
  },
  120_000,
);
