import { readFile } from 'node:fs/promises';
import { type Frame, PageStore, Replica } from '@tandem/runtime';
import { loadReducer } from '@tandem/runtime/prepare';
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { openDocument } from './document.js';
import { TODO_REDUCER } from './testing/paths.js';
import { todoMutation } from './testing/todo-model.js';

const SEED = Number(process.env.FC_SEED ?? 4242);

test('applying the captured frames to an empty page store reproduces the database byte for byte', async () => {
  const reducer = await loadReducer(await readFile(TODO_REDUCER));
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(todoMutation(30), { minLength: 1, maxLength: 30 }), { minLength: 1, maxLength: 12 }),
      async (batches) => {
        const frames: Frame[] = [];
        const doc = await openDocument({ docId: `frames-${run++}`, reducer, onFrame: (f) => frames.push(f) });
        for (const batch of batches) await doc.mutateBatch(batch);
        expect(frames.map((f) => f.lsn)).toEqual(frames.map((_, i) => i));

        const rebuilt = new PageStore();
        for (const frame of frames) rebuilt.applyFrame(frame);
        expect(await rebuilt.hash()).toBe(await doc.pageHash());

        const replica = await Replica.open({ name: `rebuilt-${run}`, reducer, store: rebuilt });
        expect(replica.query('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
        expect(replica.query('SELECT * FROM todos ORDER BY id')).toEqual(
          await doc.query('SELECT * FROM todos ORDER BY id'),
        );
        replica.close();
        await doc.close();
      },
    ),
    { seed: SEED, numRuns: 40 },
  );
});
