// The registry's rules on real files: what a deploy refuses leaves the folder untouched, what it takes
// is on disk before it is current, and a restart runs the newer of the deployed reducer and --reducer.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { REDUCERS_FOLDER, ReducerRegistry, type RegisteredReducer } from './reducer-registry.js';

const v1 = new Uint8Array(
  await readFile(new URL('../../e2e/fixtures/todo-v1-reducer/dist/reducer.wasm', import.meta.url)),
);
const v2 = new Uint8Array(await readFile(new URL('../../reducers/todo/dist/reducer.wasm', import.meta.url)));

test('a deploy is on disk before it is current, a refused one changes nothing, and a restart runs the newer reducer', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'tandem-registry-'));
  try {
    const registry = await ReducerRegistry.open(v1, dataDir);
    expect(registry.current).toBe(registry.given);
    expect(registry.current.schemaVersion).toBe(1);
    const activated: [RegisteredReducer, RegisteredReducer][] = [];
    const activate = async (reducer: RegisteredReducer, previous: RegisteredReducer) => {
      // Recorded first (invariant 2): the folder names it current when the workers are told.
      expect((await readFile(join(dataDir, REDUCERS_FOLDER, 'current'), 'utf8')).trim()).toBe(reducer.sha256);
      activated.push([reducer, previous]);
    };

    // The reducer it was started with is kept from the start (invariant 4), and recorded current (2).
    const started = [`${registry.given.sha256}.wasm`, 'current'];
    expect((await readdir(join(dataDir, REDUCERS_FOLDER))).sort()).toEqual(started);
    expect((await readFile(join(dataDir, REDUCERS_FOLDER, 'current'), 'utf8')).trim()).toBe(
      registry.given.sha256,
    );
    const garbage = await registry.deploy(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 7]), activate);
    expect(garbage).toMatchObject({ status: 'refused', kind: 'invalid-reducer' });
    expect((await readdir(join(dataDir, REDUCERS_FOLDER))).sort()).toEqual(started);

    const deployed = await registry.deploy(v2, activate);
    expect(deployed).toMatchObject({ status: 'deployed', reducer: { schemaVersion: 2 } });
    expect(registry.current.schemaVersion).toBe(2);
    expect(registry.older.map((r) => r.schemaVersion)).toEqual([1]);
    expect(registry.get(registry.given.sha256)?.bytes).toEqual(registry.given.bytes);
    expect(activated.map(([r, p]) => [r.schemaVersion, p.schemaVersion])).toEqual([[2, 1]]);
    expect(await registry.deploy(v2, activate)).toMatchObject({ status: 'current' });
    const files = await readdir(join(dataDir, REDUCERS_FOLDER));
    expect(await registry.deploy(v1, activate)).toMatchObject({
      status: 'refused',
      kind: 'schema-version-lower',
      message: expect.stringContaining('schema version 1, lower than the current reducer'),
    });
    expect(await readdir(join(dataDir, REDUCERS_FOLDER))).toEqual(files);
    expect(activated).toHaveLength(1);

    // Restarted with the old --reducer: the deployed one stays current, the old one known.
    const restarted = await ReducerRegistry.open(v1, dataDir);
    expect(restarted.current.sha256).toBe(registry.current.sha256);
    expect(restarted.older.map((r) => r.sha256)).toEqual([registry.given.sha256]);
    // Restarted with the deployed one as --reducer: nothing to warn about.
    const same = await ReducerRegistry.open(v2, dataDir);
    expect(same.current).toBe(same.given);
    // Restarted with a newer --reducer than the deployed one: recorded current as a deploy would
    // be, so a restart with the older --reducer runs it too.
    const v1Only = await mkdtemp(join(tmpdir(), 'tandem-registry-newer-'));
    try {
      const old = await ReducerRegistry.open(v1, v1Only);
      const newer = await ReducerRegistry.open(v2, v1Only);
      expect(newer.current).toBe(newer.given);
      expect((await readFile(join(v1Only, REDUCERS_FOLDER, 'current'), 'utf8')).trim()).toBe(
        newer.given.sha256,
      );
      const back = await ReducerRegistry.open(v1, v1Only);
      expect(back.current.sha256).toBe(newer.given.sha256);
      expect(back.older.map((r) => r.sha256)).toEqual([old.given.sha256]);
    } finally {
      await rm(v1Only, { recursive: true, force: true });
    }
    // In memory: nothing is written anywhere.
    const memory = await ReducerRegistry.open(v1);
    expect(memory.older).toEqual([]);
    expect(await memory.deploy(v2, async () => undefined)).toMatchObject({ status: 'deployed' });
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}, 60_000);

/** v1 with a custom section appended: another schema-1 reducer (another hash), as a fix would be. */
function variant(component: Uint8Array, label: string): Uint8Array {
  const name = new TextEncoder().encode('tandem-test');
  const body = [name.length, ...name, ...new TextEncoder().encode(label)];
  return new Uint8Array([...component, 0, body.length, ...body]);
}

test('every reducer deployed or started with is known after a restart, oldest first, and a damaged one stops the start', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'tandem-registry-kept-'));
  try {
    const first = await ReducerRegistry.open(v1, dataDir);
    const fix = await first.deploy(variant(v1, 'fix'), async () => undefined);
    expect(fix).toMatchObject({ status: 'deployed', reducer: { schemaVersion: 1 } });
    expect(await first.deploy(v2, async () => undefined)).toMatchObject({ status: 'deployed' });
    const hashes = [first.given.sha256, ...first.older.slice(1).map((r) => r.sha256), first.current.sha256];
    expect(first.older.map((r) => r.schemaVersion)).toEqual([1, 1]);

    // Restarted with the current reducer as --reducer: both schema-1 reducers are still known, in order.
    const restarted = await ReducerRegistry.open(v2, dataDir);
    expect(restarted.current.sha256).toBe(first.current.sha256);
    expect(restarted.older.map((r) => r.sha256)).toEqual(first.older.map((r) => r.sha256));
    for (const sha256 of hashes) expect(restarted.get(sha256)?.sha256).toBe(sha256);

    // Restarted with yet another schema-1 reducer: kept too, and the deployed v2 stays current.
    const other = await ReducerRegistry.open(variant(v1, 'other'), dataDir);
    expect(other.current.sha256).toBe(first.current.sha256);
    expect(other.older.map((r) => r.sha256)).toEqual([
      ...first.older.map((r) => r.sha256),
      other.given.sha256,
    ]);

    await writeFile(join(dataDir, REDUCERS_FOLDER, `${hashes[1]}.wasm`), v1);
    await expect(ReducerRegistry.open(v2, dataDir)).rejects.toThrow('does not hash to its name');
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}, 60_000);
