// Deploys posted at once to coordinators sharing one store (reducer-registry.ts, invariant 6), on both
// stores (a data folder, a real PostgreSQL): the store never ends on a lower schema version than one
// deployed, each coordinator's answer is true, and every coordinator reaches the store's reducer.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareReducer } from '@tandem/runtime/prepare';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type DeployOutcome, ReducerRegistry } from './reducer-registry.js';
import { migrateSchema } from './store/postgres-schema.js';
import { PostgresStore } from './store/postgres-store.js';
import { fileReducerShelf, postgresReducerShelf, type ReducerShelf } from './store/reducer-shelf.js';
import { usePostgresCluster } from './testing/use-postgres-cluster.js';

const SEED = Number(process.env.TANDEM_SEED ?? Date.now() % 2 ** 31);

const component = async (path: string) => new Uint8Array(await readFile(new URL(path, import.meta.url)));
const v1Component = await component('../../e2e/fixtures/todo-v1-reducer/dist/reducer.wasm');
const v2Component = await component('../../reducers/todo/dist/reducer.wasm');
const v3Component = await component('../../e2e/fixtures/todo-v3-reducer/dist/reducer.wasm');

/** A component with a custom section appended: another reducer (another hash) of the same schema version. */
function variant(bytes: Uint8Array, label: string): Uint8Array {
  const name = new TextEncoder().encode('tandem-test');
  const body = [name.length, ...name, ...new TextEncoder().encode(label)];
  return new Uint8Array([...bytes, 0, body.length, ...body]);
}

// Prepared once: a deploy of prepared bytes skips the metering.
const v1 = await prepareReducer(v1Component);
const v2 = await prepareReducer(v2Component);
const reducers = [
  { bytes: v1, schemaVersion: 1 },
  { bytes: await prepareReducer(variant(v1Component, 'fix')), schemaVersion: 1 },
  { bytes: v2, schemaVersion: 2 },
  { bytes: await prepareReducer(variant(v2Component, 'fix')), schemaVersion: 2 },
  { bytes: await prepareReducer(v3Component), schemaVersion: 3 },
];

/** One store, empty at each `reset`; `shelf(i)` is coordinator i's own access to it. */
interface SharedStore {
  shelf(coordinator: number): ReducerShelf;
  reset(): Promise<void>;
}

const cluster = usePostgresCluster();
let folder = '';
const pools: PostgresStore[] = [];
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'tandem-deploy-race-'));
});
afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.close()));
  await rm(folder, { recursive: true, force: true });
});

const stores: [string, () => Promise<SharedStore>][] = [
  [
    'a data folder',
    async () => {
      let dataDir = '';
      return {
        shelf: () => fileReducerShelf(dataDir),
        // A fresh folder each time: one store's folders never hold another test's reducers.
        reset: async () => {
          dataDir = await mkdtemp(join(folder, 'run-'));
        },
      };
    },
  ],
  [
    'PostgreSQL',
    async () => {
      const url = cluster().createDatabase(`deploy_race_${pools.length}`);
      // Each coordinator its own connections, as two processes have.
      const own = Array.from({ length: 3 }, () => new PostgresStore(url, { maxConnections: 1 }));
      pools.push(...own);
      await migrateSchema(own[0]!.pool);
      return {
        shelf: (coordinator) => postgresReducerShelf(own[coordinator]!.pool),
        reset: async () => {
          await own[0]!.pool.query('DELETE FROM current_reducer; DELETE FROM reducers');
        },
      };
    },
  ],
];

const noActivation = async () => undefined;

describe.each(stores)('on %s', (_, makeStore) => {
  test('two deploys that both read the store before either recorded: the store ends on the higher schema version, and the other is refused saying so', async () => {
    const store = await makeStore();
    await store.reset();
    // Both have read the store (their refresh) when they keep the reducer; B records only once A's deploy is done.
    let arrived = 0;
    let armed = false;
    let bothRead = (): void => undefined;
    const barrier = new Promise<void>((resolve) => {
      bothRead = resolve;
    });
    let aDone = (): void => undefined;
    const aDeployed = new Promise<void>((resolve) => {
      aDone = resolve;
    });
    const gated = (shelf: ReducerShelf, after?: Promise<void>): ReducerShelf => ({
      ...shelf,
      keep: async (reducer) => {
        if (!armed) return shelf.keep(reducer);
        if (++arrived === 2) bothRead();
        await barrier;
        await after;
        await shelf.keep(reducer);
      },
    });
    const a = await ReducerRegistry.open(v1, gated(store.shelf(0)));
    const b = await ReducerRegistry.open(v1, gated(store.shelf(1), aDeployed));
    armed = true;
    const [toV2, toFix] = await Promise.all([
      a.deploy(v2, noActivation).finally(aDone),
      b.deploy(reducers[1]!.bytes, noActivation),
    ]);
    expect(toV2).toMatchObject({ status: 'deployed', reducer: { schemaVersion: 2 } });
    expect(toFix).toMatchObject({
      status: 'refused',
      kind: 'schema-version-lower',
      message: expect.stringContaining('schema version 1, lower than the current reducer'),
    });
    const v2Hash = a.current.sha256;
    expect(await store.shelf(0).current()).toBe(v2Hash);
    // B already runs the store's reducer (its deploy read it), and a coordinator started now too.
    expect(b.current.sha256).toBe(v2Hash);
    expect((await ReducerRegistry.open(v1, store.shelf(2))).current.sha256).toBe(v2Hash);
  }, 60_000);

  test('whatever the interleaving of deploys to several coordinators, the store ends on a reducer of the highest schema version deployed, each answer is true, and every coordinator reaches it', async () => {
    const store = await makeStore();
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(
          fc.record({
            coordinator: fc.integer({ min: 0, max: 2 }),
            reducer: fc.integer({ min: 0, max: reducers.length - 1 }),
          }),
          { minLength: 1, maxLength: 5 },
        ),
        async (s, deploys) => {
          await store.reset();
          const scheduled = (shelf: ReducerShelf): ReducerShelf => ({
            where: shelf.where,
            kept: s.scheduleFunction(() => shelf.kept()),
            current: s.scheduleFunction(() => shelf.current()),
            keep: s.scheduleFunction((reducer) => shelf.keep(reducer)),
            setCurrent: s.scheduleFunction((sha256, expected) => shelf.setCurrent(sha256, expected)),
          });
          // A first start records v1; then three coordinators whose every read and write of the store interleaves.
          await ReducerRegistry.open(v1, store.shelf(0));
          const coordinators: ReducerRegistry[] = [];
          for (let i = 0; i < 3; i++) {
            coordinators.push(await s.waitFor(ReducerRegistry.open(v1, scheduled(store.shelf(i)))));
          }
          const answers: Promise<DeployOutcome>[] = deploys.map(({ coordinator, reducer }) =>
            coordinators[coordinator]!.deploy(reducers[reducer]!.bytes, noActivation),
          );
          const outcomes = await s.waitFor(Promise.all(answers));
          // Every coordinator reaches the store's reducer at its next refresh.
          const inStore = await store.shelf(0).current();
          for (const coordinator of coordinators) {
            await s.waitFor(coordinator.refresh());
            expect(coordinator.current.sha256).toBe(inStore);
          }

          const highest = Math.max(1, ...deploys.map(({ reducer }) => reducers[reducer]!.schemaVersion));
          expect(coordinators[0]!.current.schemaVersion).toBe(highest);
          // The store's reducer is v1 (where every coordinator started) or one a deploy answered for.
          const answered = outcomes.flatMap((outcome) =>
            outcome.status === 'refused' ? [] : [outcome.reducer.sha256],
          );
          expect([coordinators[0]!.given.sha256, ...answered]).toContain(inStore);
          // A refusal is true: the store held a higher schema version by then, so it ends on one.
          for (const outcome of outcomes) {
            if (outcome.status === 'refused') expect(outcome.kind).toBe('schema-version-lower');
          }
          deploys.forEach(({ reducer }, i) => {
            if (outcomes[i]!.status === 'refused')
              expect(reducers[reducer]!.schemaVersion).toBeLessThan(highest);
          });
        },
      ),
      { seed: SEED, numRuns: 10 },
    );
  }, 120_000);
});
