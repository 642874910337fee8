import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { describeByteStoreContract } from './byte-store.contract.js';
import { FaultyByteStore, InjectedFault, MemoryByteStore } from './memory-byte-store.js';

const SEED = Number(process.env.FC_SEED ?? 20261129);

const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);

describeByteStoreContract('MemoryByteStore', async () => new MemoryByteStore(), { seed: SEED });
describeByteStoreContract(
  'FaultyByteStore with a fault it never reaches',
  async () => new FaultyByteStore({ mode: 'stop', at: 'sync', k: Number.MAX_SAFE_INTEGER }),
  { seed: SEED },
);

describe('crashImage', () => {
  test('a crash keeps the synced bytes, and the unsynced ones only when the outcome keeps them', async () => {
    const store = new MemoryByteStore();
    await store.append('f', bytes(1, 2));
    await store.sync('f');
    await store.append('f', bytes(3));
    expect(await store.crashImage({ keepUnsynced: false }).read('f')).toEqual(bytes(1, 2));
    expect(await store.crashImage({ keepUnsynced: true }).read('f')).toEqual(bytes(1, 2, 3));
  });

  test('a file never synced does not survive a power loss, and survives a process crash', async () => {
    const store = new MemoryByteStore();
    await store.append('f', bytes(1));
    expect(await store.crashImage({ keepUnsynced: false }).list()).toEqual([]);
    expect(await store.crashImage({ keepUnsynced: true }).read('f')).toEqual(bytes(1));
  });

  test('undoDeletes brings a deleted file back with its synced bytes, and only a synced one', async () => {
    const store = new MemoryByteStore();
    await store.append('synced', bytes(1));
    await store.sync('synced');
    await store.append('synced', bytes(2));
    await store.delete('synced');
    await store.append('unsynced', bytes(3));
    await store.delete('unsynced');
    for (const keepUnsynced of [false, true]) {
      expect(await store.crashImage({ keepUnsynced, undoDeletes: true }).list()).toEqual(['synced']);
      expect(await store.crashImage({ keepUnsynced, undoDeletes: true }).read('synced')).toEqual(bytes(1));
      expect(await store.crashImage({ keepUnsynced }).list()).toEqual([]);
    }
  });

  test('a file deleted and written again comes back as written again, not as the deleted one', async () => {
    const store = new MemoryByteStore();
    await store.append('f', bytes(1));
    await store.sync('f');
    await store.delete('f');
    await store.append('f', bytes(2));
    await store.sync('f');
    expect(await store.crashImage({ keepUnsynced: false, undoDeletes: true }).read('f')).toEqual(bytes(2));
  });

  test('a delete undone by a crash brings the old file back when its name was written again unsynced', async () => {
    const store = new MemoryByteStore();
    await store.append('f', bytes(1));
    await store.sync('f');
    await store.delete('f');
    await store.append('f', bytes(2));
    expect(await store.crashImage({ keepUnsynced: false, undoDeletes: true }).read('f')).toEqual(bytes(1));
    expect(await store.crashImage({ keepUnsynced: true, undoDeletes: true }).read('f')).toEqual(bytes(2));
    await store.delete('f');
    expect(await store.crashImage({ keepUnsynced: false, undoDeletes: true }).read('f')).toEqual(bytes(1));
  });

  test('the image of a crash is a store of its own that can crash again', async () => {
    const store = new MemoryByteStore();
    await store.append('f', bytes(1));
    await store.sync('f');
    const image = store.crashImage({ keepUnsynced: false });
    await image.append('f', bytes(2));
    await store.append('f', bytes(9));
    expect(await image.read('f')).toEqual(bytes(1, 2));
    expect(await image.crashImage({ keepUnsynced: false }).read('f')).toEqual(bytes(1));
  });

  test('after any sequence of operations, a power-loss crash keeps exactly what was synced', async () => {
    const op = fc.record({
      kind: fc.constantFrom('append', 'append', 'append', 'sync', 'delete'),
      name: fc.constantFrom('a', 'b'),
      bytes: fc.uint8Array({ maxLength: 8 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 30 }), async (ops) => {
        const store = new MemoryByteStore();
        // What a power loss keeps: per file, its bytes as of its last sync.
        const written = new Map<string, number[]>();
        const synced = new Map<string, number[]>();
        for (const o of ops) {
          if (o.kind === 'append') {
            await store.append(o.name, o.bytes);
            written.set(o.name, [...(written.get(o.name) ?? []), ...o.bytes]);
          } else if (o.kind === 'sync') {
            await store.sync(o.name);
            const current = written.get(o.name);
            if (current !== undefined) synced.set(o.name, current);
          } else {
            await store.delete(o.name);
            written.delete(o.name);
            synced.delete(o.name);
          }
        }
        const image = store.crashImage({ keepUnsynced: false });
        expect((await image.list()).sort()).toEqual([...synced.keys()].sort());
        for (const [name, expected] of synced)
          expect(await image.read(name)).toEqual(new Uint8Array(expected));
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});

describe('FaultyByteStore', () => {
  const writeFour = async (store: FaultyByteStore): Promise<unknown[]> => {
    const outcomes: unknown[] = [];
    for (const value of [1, 2, 3, 4]) {
      outcomes.push(
        await store.append('f', bytes(value, value)).then(
          () => 'ok',
          (error: unknown) => error,
        ),
      );
    }
    return outcomes;
  };

  test('fail at write k throws at that write only, and the store goes on', async () => {
    const store = new FaultyByteStore({ mode: 'fail', at: 'write', k: 2 });
    const outcomes = await writeFour(store);
    expect(outcomes[0]).toBe('ok');
    expect(outcomes[1]).toBeInstanceOf(InjectedFault);
    expect(outcomes.slice(2)).toEqual(['ok', 'ok']);
    expect(await store.read('f')).toEqual(bytes(1, 1, 3, 3, 4, 4));
  });

  test('stop at write k throws there and at every operation after it', async () => {
    const store = new FaultyByteStore({ mode: 'stop', at: 'write', k: 2 });
    const outcomes = await writeFour(store);
    expect(outcomes[0]).toBe('ok');
    for (const outcome of outcomes.slice(1)) expect(outcome).toBeInstanceOf(InjectedFault);
    await expect(store.read('f')).rejects.toThrow(InjectedFault);
    await expect(store.sync('f')).rejects.toThrow(InjectedFault);
    await expect(store.delete('f')).rejects.toThrow(InjectedFault);
    await expect(store.list()).rejects.toThrow(InjectedFault);
    expect(await store.crashImage({ keepUnsynced: true }).read('f')).toEqual(bytes(1, 1));
  });

  test('fail at sync k leaves that sync without effect, and later syncs work', async () => {
    const store = new FaultyByteStore({ mode: 'fail', at: 'sync', k: 1 });
    await store.append('f', bytes(1));
    await expect(store.sync('f')).rejects.toThrow(InjectedFault);
    expect(await store.crashImage({ keepUnsynced: false }).list()).toEqual([]);
    await store.append('f', bytes(2));
    await store.sync('f');
    expect(await store.crashImage({ keepUnsynced: false }).read('f')).toEqual(bytes(1, 2));
  });

  test('stop at sync k keeps only what earlier syncs made durable', async () => {
    const store = new FaultyByteStore({ mode: 'stop', at: 'sync', k: 2 });
    await store.append('f', bytes(1));
    await store.sync('f');
    await store.append('f', bytes(2));
    await expect(store.sync('f')).rejects.toThrow(InjectedFault);
    await expect(store.append('f', bytes(3))).rejects.toThrow(InjectedFault);
    expect(await store.crashImage({ keepUnsynced: false }).read('f')).toEqual(bytes(1));
    expect(await store.crashImage({ keepUnsynced: true }).read('f')).toEqual(bytes(1, 2));
  });

  test('a torn write leaves the first half of its bytes and still throws', async () => {
    for (const mode of ['fail', 'stop'] as const) {
      const store = new FaultyByteStore({ mode, at: 'write', k: 2, tear: true });
      await store.append('f', bytes(1));
      await expect(store.append('f', bytes(2, 3, 4, 5, 6))).rejects.toThrow(InjectedFault);
      expect(await store.crashImage({ keepUnsynced: true }).read('f')).toEqual(bytes(1, 2, 3));
      expect(store.stopped).toBe(mode === 'stop');
    }
  });

  test('writes and syncs are counted from 1 across files', async () => {
    const store = new FaultyByteStore({ mode: 'fail', at: 'write', k: 3 });
    await store.append('a', bytes(1));
    await store.append('b', bytes(2));
    await store.sync('a');
    await expect(store.append('a', bytes(3))).rejects.toThrow(InjectedFault);
    expect([store.writes, store.syncs]).toEqual([3, 1]);
  });
});
