// Issue 12, must-show 6: the coordinator SIGKILLed in the middle of migrating 100 documents. A real
// coordinator process (the bin) over real files is asked to migrate every document (`POST
// /admin/migrate`) and killed at a seeded random moment: after a seeded number of documents reported
// migrated, plus a few milliseconds, so the kill lands while one is being opened, migrated or synced.
// A few rounds, each restarting where the last one stopped. Then each document's files, read without
// writing, hold a database at version 1 or version 2 whose tables are that version's (never in
// between) and which passes PRAGMA integrity_check; a restarted coordinator migrates the rest without a
// failure, and a version 2 client of a seeded quarter of them converges on the coordinator's pages.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLog, startCoordinator } from '@tandem/coordinator';
import { documentFolder, FsByteStore, openDocument } from '@tandem/host-node';
import { DocumentJournal, Replica, rebuildStore } from '@tandem/runtime';
import { loadReducer } from '@tandem/runtime/prepare';
import { mulberry32 } from '@tandem/runtime/testing';
import { expect, test } from 'vitest';
import { REPO_ROOT } from './support/vite-server.js';

const TODO_V1 = join(REPO_ROOT, 'e2e/fixtures/todo-v1-reducer/dist/reducer.wasm');
const TODO_V2 = join(REPO_ROOT, 'reducers/todo/dist/reducer.wasm');
const BIN = join(REPO_ROOT, 'coordinator/bin/tandem-coordinator.js');
const TOKEN = 'operator-token-for-migrate-kill';
const SEED = Number(process.env.MIGRATE_KILL_SEED ?? Date.now() % 2 ** 31);
const DOCUMENTS = 100;
const ROUNDS = 3;
const docIds = Array.from({ length: DOCUMENTS }, (_, i) => `doc-${String(i).padStart(3, '0')}`);

/** Many at a time, `width` at once. */
async function inBatches<T>(items: readonly T[], width: number, run: (item: T) => Promise<void>) {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(run));
}

/** Starts the bin; resolves with its URL once it listens. */
function startBin(dataDir: string, reducer: string, child: { process?: ChildProcess }): Promise<string> {
  return new Promise((resolve, reject) => {
    const started = spawn(process.execPath, [BIN, '--reducer', reducer, '--data', dataDir, '--port', '0'], {
      env: { ...process.env, TANDEM_OPERATOR_TOKEN: TOKEN, TANDEM_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.process = started;
    let out = '';
    started.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
      if (url !== undefined) resolve(url);
    });
    started.on('exit', (code, signal) =>
      reject(new Error(`the bin ended (${code ?? signal}) before listening`)),
    );
  });
}

/** What a document's files hold, read without writing: its schema version, its tables, its integrity. */
async function inspect(dataDir: string, docId: string, reducer: Awaited<ReturnType<typeof loadReducer>>) {
  const files = await FsByteStore.open(documentFolder(dataDir, docId));
  const inspection = await DocumentJournal.inspect(files).finally(() => files.close());
  const { recovered } = inspection;
  const replica = await Replica.open({
    name: `inspect:${docId}`,
    reducer,
    authoritative: true,
    store: rebuildStore(recovered),
    firstFrameLsn: (recovered.image?.frameCount ?? 0) + recovered.frames.length,
  });
  try {
    const version = replica.query("SELECT value FROM _tandem_meta WHERE key = 'schema_version'")[0]?.value;
    const columns = replica.query('SELECT name FROM pragma_table_info(?)', ['todos']).map((row) => row.name);
    return {
      lost: inspection.framesExpected - inspection.framesReadable,
      version,
      priority: columns.includes('priority'),
      integrity: replica.query('PRAGMA integrity_check'),
      todos: replica.query('SELECT count(*) AS n FROM todos')[0]?.n,
    };
  } finally {
    replica.close();
  }
}

test(`a coordinator SIGKILLed in the middle of migrating 100 documents leaves each whole at version 1 or 2, and after a restart clients converge (seed ${SEED}; MIGRATE_KILL_SEED=${SEED} replays it)`, async () => {
  console.log(`migrate-kill seed ${SEED} (MIGRATE_KILL_SEED=${SEED} replays the schedule)`);
  const next = mulberry32(SEED);
  const scratch = await mkdtemp(join(tmpdir(), 'tandem-migrate-kill-'));
  const dataDir = join(scratch, 'coordinator');
  const child: { process?: ChildProcess } = {};
  const events: string[] = [];
  try {
    // Prepared once: a client given the file would meter it at each open.
    const v1 = await loadReducer(new Uint8Array(await readFile(TODO_V1)));
    const v2 = await loadReducer(new Uint8Array(await readFile(TODO_V2)));
    // 100 version 1 documents, two todos each.
    const seeding = await startCoordinator({
      reducer: await readFile(TODO_V1),
      dataDir,
      port: 0,
      log: createLog({ level: 'silent' }),
    });
    const seedUrl = `${seeding.url.replace('http', 'ws')}/sync`;
    await inBatches(docIds, 25, async (docId) => {
      const doc = await openDocument({ docId, reducer: v1, coordinatorUrl: seedUrl });
      await doc.mutateBatch([
        { type: 'create', id: 'a', title: `${docId} a` },
        { type: 'create', id: 'b', title: `${docId} b` },
      ]);
      await doc.synced();
      await doc.close();
    });
    await seeding.close();

    let migrated = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // After the deploy, restarted with the deployed reducer as it was kept (prepared: no metering).
      const reducer =
        round === 0
          ? TODO_V1
          : join(
              dataDir,
              '.reducers',
              `${(await readFile(join(dataDir, '.reducers', 'current'), 'utf8')).trim()}.wasm`,
            );
      const url = await startBin(dataDir, reducer, child);
      const running = child.process!;
      if (round === 0) {
        const deployed = await fetch(`${url}/admin/reducers`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}` },
          body: new Uint8Array(await readFile(TODO_V2)),
        });
        expect(deployed.status, `seed ${SEED}`).toBe(200);
      }
      // Killed after `after` more documents are reported migrated, and `delay` ms more.
      const after = 1 + Math.floor(next() * Math.min(20, DOCUMENTS - migrated - 2));
      const delay = Math.floor(next() * 4);
      const killed = new Promise<void>((resolve) => {
        let seen = 0;
        let buffered = '';
        running.stderr!.on('data', (chunk: Buffer) => {
          buffered += chunk.toString();
          const lines = buffered.split('\n');
          buffered = lines.pop() ?? '';
          for (const line of lines) {
            if (!line.includes('"document migration"') || !line.includes('"outcome":"migrated"')) continue;
            if (++seen === after) setTimeout(() => running.kill('SIGKILL'), delay);
          }
        });
        running.on('exit', () => resolve());
      });
      // Answered never: the coordinator dies first.
      void fetch(`${url}/admin/migrate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
      }).catch(() => undefined);
      await killed;
      migrated += after;
      events.push(`round ${round}: killed ${delay} ms after the ${after}th migrated document`);
    }

    // Read without writing: every document is whole, at version 1 with version 1's tables or at 2 with 2's.
    const atVersion = new Map<string, unknown>();
    for (const docId of docIds) {
      const found = await inspect(dataDir, docId, v2);
      const why = `seed ${SEED}, ${docId}: ${JSON.stringify(found)}; ${events.join('; ')}`;
      expect(found.lost, why).toBeLessThanOrEqual(0);
      expect(found.integrity, why).toEqual([{ integrity_check: 'ok' }]);
      expect([found.version, found.priority], why).toEqual(found.version === 2 ? [2, true] : [1, false]);
      expect(found.todos, why).toBe(2);
      atVersion.set(docId, found.version);
    }
    const onV2 = [...atVersion.values()].filter((v) => v === 2).length;
    expect(onV2, `seed ${SEED}: ${events.join('; ')}`).toBeGreaterThanOrEqual(migrated);
    expect(onV2, `seed ${SEED}: ${events.join('; ')}`).toBeLessThan(DOCUMENTS);

    // Restarted: the rest migrate without a failure, and clients converge.
    const coordinator = await startCoordinator({
      reducer: await readFile(TODO_V1),
      dataDir,
      port: 0,
      operatorToken: TOKEN,
      log: createLog({ level: 'silent' }),
    });
    try {
      const report = await coordinator.migrateAll();
      for (const { docId, ...migration } of report.documents) {
        expect(migration, `seed ${SEED}, ${docId}`).toEqual(
          atVersion.get(docId) === 2
            ? { outcome: 'current', schemaVersion: 2 }
            : { outcome: 'migrated', fromVersion: 1, toVersion: 2 },
        );
      }
      expect(report.documents).toHaveLength(DOCUMENTS);
      const coordinatorUrl = `${coordinator.url.replace('http', 'ws')}/sync`;
      // A client of a seeded quarter of the documents, within the test's time on a shared machine.
      const sample = docIds.filter(() => next() < 0.25);
      await inBatches(sample, 10, async (docId) => {
        const doc = await openDocument({ docId, reducer: v2, coordinatorUrl });
        try {
          await doc.caughtUp();
          expect(doc.status.syncError, `seed ${SEED}, ${docId}`).toBeUndefined();
          expect(await doc.query('SELECT id, priority FROM todos ORDER BY id')).toEqual([
            { id: 'a', priority: 0 },
            { id: 'b', priority: 0 },
          ]);
          expect(await doc.pageHash(), `seed ${SEED}, ${docId}`).toBe(await coordinator.pageHash(docId));
        } finally {
          await doc.close();
        }
      });
    } finally {
      await coordinator.close();
    }
  } finally {
    child.process?.kill('SIGKILL');
    await rm(scratch, { recursive: true, force: true });
  }
}, 90_000);
