import fc from 'fast-check';
import { expect, test } from 'vitest';
import { describeByteStoreContract } from './byte-store.contract.js';
import type { ByteStore } from './byte-store.js';
import { ListedByteStore } from './listed-byte-store.js';
import { MemoryByteStore } from './memory-byte-store.js';

const SEED = Number(process.env.FC_SEED ?? 20261206);

describeByteStoreContract(
  'ListedByteStore keeping its listing',
  async () => new ListedByteStore(new MemoryByteStore()),
  {
    seed: SEED,
  },
);

/** Counts the listings the inner store was asked for. */
class CountingStore extends MemoryByteStore {
  lists = 0;
  override list(): Promise<string[]> {
    this.lists++;
    return super.list();
  }
}

test('an open that lists its folder again and again walks it once', async () => {
  const inner = new CountingStore();
  await inner.append('timeline.log', new Uint8Array([1]));
  const store = new ListedByteStore(inner);
  const first = await store.list();
  first.push('changed by the caller');
  expect(await store.list()).toEqual(['timeline.log']);
  await store.append('timeline.log', new Uint8Array([2]));
  expect(await store.list()).toEqual(['timeline.log']);
  expect(inner.lists).toBe(1);
  store.stopKeeping();
  await store.list();
  expect(inner.lists).toBe(2);
});

/**
 * Changes take effect a turn after they are asked, while a listing answers at once: a listing asked
 * during a change misses it, as a folder's walk can miss a file being created beside it.
 */
class LaggingStore extends MemoryByteStore {
  override async append(name: string, bytes: Uint8Array): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 0));
    return super.append(name, bytes);
  }

  override async delete(name: string): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 0));
    return super.delete(name);
  }
}

type Step =
  | { readonly kind: 'append' | 'delete'; readonly name: string; readonly wait: boolean }
  | { readonly kind: 'list'; readonly wait: boolean };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constantFrom('append' as const, 'delete' as const),
    name: fc.constantFrom('a', 'b', 'c'),
    wait: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('list' as const), wait: fc.boolean() }),
);

test('a kept listing never misses a file created or deleted through the store, even while listings run (fast-check)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(step, { maxLength: 30 }), async (steps) => {
      const inner = new LaggingStore();
      const store: ByteStore = new ListedByteStore(inner);
      const running: Promise<unknown>[] = [];
      for (const s of steps) {
        const done =
          s.kind === 'list'
            ? store.list()
            : s.kind === 'append'
              ? store.append(s.name, new Uint8Array([1]))
              : store.delete(s.name);
        if (s.wait) await done;
        else running.push(done);
        if (s.wait) {
          await Promise.all(running);
          expect((await store.list()).sort()).toEqual((await inner.list()).sort());
        }
      }
      await Promise.all(running);
      expect((await store.list()).sort()).toEqual((await inner.list()).sort());
    }),
    { seed: SEED, numRuns: 300 },
  );
});
