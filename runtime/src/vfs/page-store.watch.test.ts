// Invariant 8 of the page store, model-based: whatever sequence of writes, truncations, discards, folds,
// frames and base resets, every page whose visible array changed was told to the watcher.
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { PAGE_SIZE, PageStore } from './page-store.js';

function fcSeed(): number {
  const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env;
  return Number(env?.FC_SEED ?? Date.now() % 2 ** 31);
}

const page = (fill: number) => new Uint8Array(PAGE_SIZE).fill(fill);
const pgno = fc.integer({ min: 1, max: 9 });

type Op =
  | { readonly kind: 'write'; readonly pgno: number; readonly fill: number }
  | { readonly kind: 'truncate'; readonly count: number }
  | { readonly kind: 'discard' }
  | { readonly kind: 'fold' }
  | { readonly kind: 'frame'; readonly count: number; readonly pgnos: readonly number[] }
  | { readonly kind: 'reset'; readonly count: number; readonly pgnos: readonly number[] };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('write' as const), pgno, fill: fc.nat(255) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncate' as const), count: fc.nat(9) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'discard' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'fold' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('frame' as const), count: fc.nat(9), pgnos: fc.array(pgno) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('reset' as const), count: fc.nat(9), pgnos: fc.array(pgno) }),
  },
);

let fills = 0;
const framePages = (count: number, pgnos: readonly number[]) =>
  [...new Set(pgnos)].filter((p) => p <= count).map((p) => ({ pgno: p, data: page(++fills % 256) }));

function run(store: PageStore, step: Op): void {
  switch (step.kind) {
    case 'write':
      store.write(step.pgno, page(step.fill));
      return;
    case 'truncate':
      store.truncate(step.count);
      return;
    case 'discard':
      store.discardOverlay();
      return;
    case 'fold':
      store.foldOverlay();
      return;
    case 'frame':
      if (store.hasOverlay) store.discardOverlay();
      store.applyFrame({ pageCount: step.count, pages: framePages(step.count, step.pgnos) });
      return;
    case 'reset':
      if (store.hasOverlay) store.discardOverlay();
      store.resetBase({ frameCount: 0, pageCount: step.count, pages: framePages(step.count, step.pgnos) });
  }
}

const visible = (store: PageStore) => Array.from({ length: 10 }, (_, i) => store.read(i + 1));

test('every page whose visible bytes may have changed is told to the watchers, whatever changed the file', () => {
  const seed = fcSeed();
  try {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 40 }), (ops) => {
        const store = new PageStore();
        const told = new Set<number>();
        const unwatch = store.watch((p) => told.add(p));
        for (const step of ops) {
          const before = visible(store);
          told.clear();
          run(store, step);
          const after = visible(store);
          for (let i = 0; i < after.length; i++) {
            if (after[i] !== before[i])
              expect(told, `page ${i + 1} after ${JSON.stringify(step)}`).toContain(i + 1);
          }
        }
        unwatch();
        told.clear();
        store.write(1, page(1));
        expect(told.size).toBe(0);
      }),
      { seed, numRuns: 300 },
    );
  } catch (error) {
    throw new Error(`page store watch model failed; replay with FC_SEED=${seed}`, { cause: error });
  }
});
