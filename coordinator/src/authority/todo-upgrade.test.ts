// The todo reducer's upgrade from schema version 1 (e2e/fixtures/todo-v1-reducer, frozen) to version 2
// (reducers/todo) on the authoritative copy: `migrate(1)` is one ordinary frame, and version 2 takes
// every version 1 mutation with its version 1 meaning (reducer-sdk/README.md, "a new reducer accepts
// its own older mutations"). Differential: the same mutations under version 1 throughout, and under
// version 1 then version 2, must give the same outcomes and the same todos.
import { readFile } from 'node:fs/promises';
import { MemoryByteStore, type MutationEnvelope } from '@tandem/runtime';
import { loadReducer } from '@tandem/runtime/prepare';
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { AuthorityDocument, type PushOutcome } from './authority-document.js';

const SEED = Number(process.env.FC_SEED ?? 1212);
const v1 = await loadReducer(
  await readFile(new URL('../../../e2e/fixtures/todo-v1-reducer/dist/reducer.wasm', import.meta.url)),
);
const v2 = await loadReducer(
  await readFile(new URL('../../../reducers/todo/dist/reducer.wasm', import.meta.url)),
);
const V1_COLUMNS = 'SELECT id, title, completed, created_at FROM todos ORDER BY id';
let docs = 0;

function envelope(lsn: number, body: object): MutationEnvelope {
  return {
    timelineId: 't',
    lsn,
    timestamp: 1_700_000_000_000 + lsn,
    payload: new TextEncoder().encode(JSON.stringify(body)),
  };
}

/** Version 1's mutations over a few ids (so they collide), some of them invalid. */
const v1Mutation: fc.Arbitrary<object> = (() => {
  const id = fc.constantFrom('a', 'b', 'c', 'd');
  const title = fc.oneof(fc.string({ minLength: 1, maxLength: 12 }), fc.constant(''));
  return fc.oneof(
    fc.record({ type: fc.constant('create'), id, title }),
    fc.record({ type: fc.constant('rename'), id, title }),
    fc.record({ type: fc.constant('toggle'), id }),
    fc.record({ type: fc.constant('delete'), id }),
    fc.constant({ type: 'clearCompleted' }),
    fc.record({ type: fc.constant('create'), title }),
  );
})();

async function push(doc: AuthorityDocument, bodies: readonly object[], from: number): Promise<PushOutcome[]> {
  if (bodies.length === 0) return [];
  const report = await doc.push([
    { timelineId: 't', mutations: bodies.map((body, i) => envelope(from + i, body)) },
  ]);
  const result = report.results[0];
  if (result?.status !== 'accepted') throw new Error(`push refused: ${JSON.stringify(result)}`);
  return [...result.outcomes];
}

test('version 2 migrates a version 1 document in one frame and takes every version 1 mutation as version 1 did', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(v1Mutation, { maxLength: 20 }),
      fc.array(v1Mutation, { minLength: 1, maxLength: 20 }),
      async (before, after) => {
        const id = `upgrade-${++docs}`;
        const only = await AuthorityDocument.open({ docId: `${id}-v1`, reducer: v1 });
        const expected = [...(await push(only, before, 0)), ...(await push(only, after, before.length))];
        const expectedRows = await only.query(V1_COLUMNS);
        await only.close();

        const storage = new MemoryByteStore();
        const old = await AuthorityDocument.open({ docId: id, reducer: v1, storage });
        const outcomes = await push(old, before, 0);
        const head = old.nextFrameLsn;
        await old.close();
        const upgraded = await AuthorityDocument.open({ docId: id, reducer: v2, storage });
        // migrate(1) is the one frame the reopen made.
        expect(upgraded.nextFrameLsn).toBe(head + 1);
        outcomes.push(...(await push(upgraded, after, before.length)));
        expect(outcomes).toEqual(expected);
        expect(await upgraded.query(V1_COLUMNS)).toEqual(expectedRows);
        expect(await upgraded.query('SELECT DISTINCT priority FROM todos')).toEqual(
          expectedRows.length === 0 ? [] : [{ priority: 0 }],
        );
        expect(await upgraded.query('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
        await upgraded.close();
      },
    ),
    { seed: SEED, numRuns: 30 },
  );
}, 120_000);

test('version 2 sets priorities, on create and with setPriority, and refuses one that is not a whole number from 0 to 1000', async () => {
  const doc = await AuthorityDocument.open({ docId: `priority-${++docs}`, reducer: v2 });
  const outcomes = await push(
    doc,
    [
      { type: 'create', id: 'a', title: 'milk' },
      { type: 'create', id: 'b', title: 'bread', priority: 5 },
      { type: 'setPriority', id: 'a', priority: 1000 },
      { type: 'setPriority', id: 'a', priority: 1001 },
      { type: 'setPriority', id: 'a', priority: 1.5 },
      { type: 'setPriority', id: 'a', priority: '2' },
      { type: 'setPriority', id: 'a' },
      { type: 'setPriority', id: 'z', priority: 1 },
      { type: 'create', id: 'c', title: 'eggs', priority: -1 },
    ],
    0,
  );
  expect(outcomes.map((o) => (o.ok ? 'ok' : o.reason))).toEqual([
    'ok',
    'ok',
    'ok',
    'priority must be from 0 to 1000',
    "field 'priority' must be a whole number",
    "field 'priority' must be a whole number",
    "field 'priority' must be a whole number",
    "no todo with id 'z'",
    'priority must be from 0 to 1000',
  ]);
  expect(await doc.query('SELECT id, priority FROM todos ORDER BY id')).toEqual([
    { id: 'a', priority: 1000 },
    { id: 'b', priority: 5 },
  ]);
  await doc.close();
});

test('the version a document records follows its reducer: 1 under version 1, 2 once version 2 opened it', async () => {
  const storage = new MemoryByteStore();
  const old = await AuthorityDocument.open({ docId: `version-${++docs}`, reducer: v1, storage });
  expect(await old.query("SELECT value FROM _tandem_meta WHERE key = 'schema_version'")).toEqual([
    { value: 1 },
  ]);
  await old.close();
  const upgraded = await AuthorityDocument.open({ docId: `version-${docs}`, reducer: v2, storage });
  expect(await upgraded.query("SELECT value FROM _tandem_meta WHERE key = 'schema_version'")).toEqual([
    { value: 2 },
  ]);
  await upgraded.close();
});
