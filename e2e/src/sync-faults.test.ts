// Several clients, seeded random work, clients going offline and coming back, the coordinator
// restarting: in the end every replica holds the same pages as the coordinator, every mutation a client
// made has a fate, and no confirmed mutation is missing.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Coordinator, startCoordinator } from '@tandem/coordinator';
import { openDocument } from '@tandem/host-node';
import { type LocalDocument, SeededRandom } from '@tandem/runtime';
import { expect, test } from 'vitest';
import { REPO_ROOT } from './support/vite-server.js';

const TODO = join(REPO_ROOT, 'reducers/todo/dist/reducer.wasm');
const SEEDS = process.env.FC_SEED === undefined ? [11n, 12n] : [BigInt(process.env.FC_SEED)];
const CLIENTS = 3;
const STEPS = 60;

async function until(condition: () => Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

for (const seed of SEEDS) {
  test(`clients that go offline and a coordinator that restarts still converge with no lost write (seed ${seed}; FC_SEED=${seed} replays it)`, async () => {
    const random = new SeededRandom(seed);
    const pick = (n: number) => Number(random.nextU64() % BigInt(n));
    const scratch = await mkdtemp(join(tmpdir(), 'tandem-faults-'));
    const reducer = await readFile(TODO);
    const docId = `faults-${seed}`;
    let coordinator: Coordinator | undefined = await startCoordinator({
      reducer,
      dataDir: join(scratch, 'coordinator'),
      port: 0,
    });
    const port = coordinator.port;
    const url = `ws://127.0.0.1:${port}/sync`;
    const open = (i: number) =>
      openDocument({
        docId,
        reducer: TODO,
        dataDir: join(scratch, `client-${i}`),
        coordinatorUrl: url,
        sync: { backoffMs: 10, heartbeatMs: 500 },
      });
    const clients: (LocalDocument | undefined)[] = [];
    for (let i = 0; i < CLIENTS; i++) clients.push(await open(i));
    const made: { client: number; lsn: number; id: string; create: boolean }[] = [];
    try {
      for (let step = 0; step < STEPS; step++) {
        const i = pick(CLIENTS);
        const roll = pick(100);
        const client = clients[i];
        if (roll < 8) {
          if (client !== undefined) {
            await client.close();
            clients[i] = undefined;
          } else clients[i] = await open(i);
        } else if (roll < 12) {
          if (coordinator !== undefined) {
            await coordinator.close();
            coordinator = undefined;
          } else
            coordinator = await startCoordinator({ reducer, dataDir: join(scratch, 'coordinator'), port });
        } else if (client !== undefined) {
          const toggle = roll >= 30 && roll < 40 && made.length > 0;
          const id = toggle ? made[pick(made.length)]!.id : roll < 30 ? `shared-${pick(3)}` : `c${i}-${step}`;
          const result = await client.mutate(
            toggle ? { type: 'toggle', id } : { type: 'create', id, title: `step ${step}` },
          );
          made.push({ client: i, lsn: result.lsn, id, create: !toggle });
        }
      }
      coordinator ??= await startCoordinator({ reducer, dataDir: join(scratch, 'coordinator'), port });
      for (let i = 0; i < CLIENTS; i++) clients[i] ??= await open(i);
      await Promise.all(clients.map((c) => c!.synced()));
      const expected = await coordinator.pageHash(docId);
      await until(async () => {
        const hashes = await Promise.all(clients.map((c) => c!.pageHash()));
        return hashes.every((h) => h === expected);
      }, 'every client holds the coordinator pages');

      const ids = new Set((await clients[0]!.query('SELECT id FROM todos')).map((row) => row.id));
      const fates = { confirmed: 0, rejected: 0 };
      for (const m of made) {
        const fate = await clients[m.client]!.fate(m.lsn);
        fates[fate.status]++;
        if (fate.status === 'confirmed' && m.create)
          expect(ids, `client ${m.client} lsn ${m.lsn}`).toContain(m.id);
      }
      expect(fates.confirmed).toBeGreaterThan(10);
      expect(fates.confirmed + fates.rejected).toBe(made.length);
      expect((await clients[0]!.query('PRAGMA integrity_check'))[0]).toEqual({ integrity_check: 'ok' });
    } finally {
      for (const client of clients) await client?.close();
      await coordinator?.close();
      await rm(scratch, { recursive: true, force: true });
    }
  }, 120_000);
}
