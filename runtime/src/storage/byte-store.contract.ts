// The claims every ByteStore makes, as a vitest suite each implementation runs against itself
// (`describeByteStoreContract('MemoryByteStore', async () => new MemoryByteStore())`). They are what a
// process sees while it runs; what survives a crash is tested per implementation, since only a memory
// store can crash on demand. No `node:` imports here: the browser's stores run the same suite.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { concatBytes } from '../bytes.js';
import type { ByteStore } from './byte-store.js';

export interface ContractOptions {
  /** fast-check seed; printed by fast-check when a property fails. */
  readonly seed?: number;
  /** Runs of each property: lower it for stores whose sync is slow. */
  readonly numRuns?: number;
}

/** Each call must give an empty store of its own; the caller disposes of them (e.g. in `afterEach`). */
export type MakeByteStore = () => Promise<ByteStore>;

const NAMES = ['a', 'b.log', 'frames-0001.log'] as const;

type Op =
  | { readonly kind: 'append'; readonly name: string; readonly bytes: Uint8Array }
  | { readonly kind: 'sync' | 'delete' | 'read'; readonly name: string };

const name = fc.constantFrom(...NAMES);
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ kind: fc.constant('append'), name, bytes: fc.uint8Array({ maxLength: 40 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('sync', 'delete', 'read'), name }) },
);

/** Names a store must refuse, for every operation that takes one. */
const INVALID_NAMES = ['', '.', '..', 'A', 'a/b', '../a', 'a b', 'é', 'a\u0000', 'log:1'];

/** The files a sequence of operations leaves, by name. */
function model(ops: readonly Op[]): Map<string, Uint8Array[]> {
  const files = new Map<string, Uint8Array[]>();
  for (const o of ops) {
    if (o.kind === 'append') files.set(o.name, [...(files.get(o.name) ?? []), o.bytes]);
    if (o.kind === 'delete') files.delete(o.name);
  }
  return files;
}

async function expectFiles(store: ByteStore, files: Map<string, Uint8Array[]>): Promise<void> {
  expect((await store.list()).sort()).toEqual([...files.keys()].sort());
  for (const n of NAMES) {
    const chunks = files.get(n);
    expect(await store.read(n)).toEqual(chunks === undefined ? undefined : concatBytes(chunks));
  }
}

export function describeByteStoreContract(
  storeName: string,
  makeStore: MakeByteStore,
  options: ContractOptions = {},
): void {
  const settings = { seed: options.seed ?? 20261129, numRuns: options.numRuns ?? 100 };

  describe(`${storeName} keeps the ByteStore contract`, () => {
    test('a file reads back as the concatenation of its appends, through syncs and deletes', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 30 }), async (ops) => {
          const store = await makeStore();
          for (const [i, o] of ops.entries()) {
            if (o.kind === 'append') await store.append(o.name, o.bytes);
            else if (o.kind === 'sync') await store.sync(o.name);
            else if (o.kind === 'delete') await store.delete(o.name);
            else {
              const chunks = model(ops.slice(0, i)).get(o.name);
              expect(await store.read(o.name)).toEqual(
                chunks === undefined ? undefined : concatBytes(chunks),
              );
            }
          }
          await expectFiles(store, model(ops));
        }),
        settings,
      );
    });

    test('operations issued without awaiting take effect in call order', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
          const store = await makeStore();
          await Promise.all(
            ops.map((o) => {
              if (o.kind === 'append') return store.append(o.name, o.bytes);
              if (o.kind === 'sync') return store.sync(o.name);
              if (o.kind === 'delete') return store.delete(o.name);
              return store.read(o.name);
            }),
          );
          await expectFiles(store, model(ops));
        }),
        settings,
      );
    });

    test('list shows the files created and not the ones deleted', async () => {
      const store = await makeStore();
      expect(await store.list()).toEqual([]);
      await store.append('kept', new Uint8Array([1]));
      await store.append('gone', new Uint8Array([2]));
      await store.sync('gone');
      await store.delete('gone');
      await store.append('empty', new Uint8Array(0));
      expect((await store.list()).sort()).toEqual(['empty', 'kept']);
    });

    test('an empty append creates an empty file', async () => {
      const store = await makeStore();
      await store.append('empty', new Uint8Array(0));
      expect(await store.read('empty')).toEqual(new Uint8Array(0));
    });

    test('reading a missing file gives undefined, also once it has been deleted', async () => {
      const store = await makeStore();
      expect(await store.read('missing')).toBeUndefined();
      await store.append('deleted', new Uint8Array([1, 2, 3]));
      await store.delete('deleted');
      expect(await store.read('deleted')).toBeUndefined();
    });

    test('deleting or syncing a missing file is not an error and creates nothing', async () => {
      const store = await makeStore();
      await store.delete('missing');
      await store.sync('missing');
      expect(await store.list()).toEqual([]);
      expect(await store.read('missing')).toBeUndefined();
    });

    test('a deleted file appended to again starts empty', async () => {
      const store = await makeStore();
      await store.append('f', new Uint8Array([1, 2]));
      await store.sync('f');
      await store.delete('f');
      await store.append('f', new Uint8Array([3]));
      expect(await store.read('f')).toEqual(new Uint8Array([3]));
    });

    test('an append takes its bytes when called: the caller may reuse the buffer at once', async () => {
      const store = await makeStore();
      const buffer = new Uint8Array([1, 2, 3]);
      const appended = store.append('f', buffer);
      buffer.fill(9);
      await appended;
      expect(await store.read('f')).toEqual(new Uint8Array([1, 2, 3]));
    });

    test('a read gives the caller its own bytes: changing them does not change the file', async () => {
      const store = await makeStore();
      await store.append('f', new Uint8Array([1, 2]));
      (await store.read('f'))?.fill(9);
      expect(await store.read('f')).toEqual(new Uint8Array([1, 2]));
    });

    test('a large append reads back whole', async () => {
      const store = await makeStore();
      const big = new Uint8Array(4 * 1024 * 1024 + 3).map((_, i) => (i * 31) & 0xff);
      await store.append('big', new Uint8Array([7]));
      await store.append('big', big);
      await store.sync('big');
      const read = (await store.read('big')) ?? new Uint8Array(0);
      expect(read.length).toBe(big.length + 1);
      expect(read[0]).toBe(7);
      // toEqual would compare 4 MiB element by element; the first differing offset is what helps.
      expect(read.subarray(1).findIndex((byte, i) => byte !== big[i])).toBe(-1);
    });

    test('invalid names are refused by every operation that takes a name', async () => {
      const store = await makeStore();
      for (const invalid of INVALID_NAMES) {
        await expect(store.append(invalid, new Uint8Array([1])), invalid).rejects.toThrow(RangeError);
        await expect(store.read(invalid), invalid).rejects.toThrow(RangeError);
        await expect(store.sync(invalid), invalid).rejects.toThrow(RangeError);
        await expect(store.delete(invalid), invalid).rejects.toThrow(RangeError);
      }
      expect(await store.list()).toEqual([]);
    });
  });
}
