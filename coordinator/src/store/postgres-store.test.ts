import { type Frame, PAGE_SIZE, PageStore } from '@tandem/runtime';
import { expect, test } from 'vitest';
import { usePostgresCluster } from '../testing/use-postgres-cluster.js';
import { describeStoreContract } from './coordinator-store.contract.js';
import { documentStores } from './coordinator-store.js';
import { migrateSchema, schemaFiles } from './postgres-schema.js';
import { PostgresStore } from './postgres-store.js';
import { postgresReducerShelf } from './reducer-shelf.js';

const cluster = usePostgresCluster();
let databases = 0;

describeStoreContract('PostgreSQL', async () => {
  // Each run its own database, so runs see none of each other's documents.
  const url = cluster().createDatabase(`contract_${databases++}`);
  const main = new PostgresStore(url, { maxConnections: 1 });
  await migrateSchema(main.pool);
  return {
    stores: () => documentStores({ kind: 'postgres', url }),
    reducers: postgresReducerShelf(main.pool),
    dispose: () => main.close(),
  };
});

async function migrated(): Promise<{ url: string; main: PostgresStore }> {
  const url = cluster().createDatabase(`only_${databases++}`);
  const main = new PostgresStore(url, { maxConnections: 2 });
  await migrateSchema(main.pool);
  return { url, main };
}

const frame = (lsn: number): Frame => ({
  lsn,
  pageCount: 1,
  pages: [{ pgno: 1, data: new Uint8Array(PAGE_SIZE).fill(lsn) }],
});

test('the schema files apply once: again, or from coordinators starting together, they change nothing', async () => {
  const url = cluster().createDatabase(`schema_${databases++}`);
  const starts = Array.from({ length: 4 }, () => new PostgresStore(url, { maxConnections: 1 }));
  try {
    const applied = await Promise.all(starts.map((store) => migrateSchema(store.pool)));
    expect(applied.flat()).toEqual(schemaFiles().map((file) => file.name));
    expect(await migrateSchema(starts[0]!.pool)).toEqual([]);
    const rows = await starts[0]!.pool.query('SELECT version, name FROM schema_migrations ORDER BY version');
    expect(rows.rows).toEqual(schemaFiles().map(({ version, name }) => ({ version, name })));
  } finally {
    await Promise.all(starts.map((store) => store.close()));
  }
});

test('a database upgraded by a newer coordinator is refused before anything is written', async () => {
  const { main } = await migrated();
  try {
    await main.pool.query("INSERT INTO schema_migrations (version, name) VALUES (9999, '9999-future.sql')");
    await expect(migrateSchema(main.pool)).rejects.toMatchObject({
      kind: 'invalid-argument',
      fields: { reason: 'store-schema-newer' },
    });
  } finally {
    await main.close();
  }
});

test('a schema file that fails leaves nothing of it applied', async () => {
  const { main } = await migrated();
  try {
    const broken = [
      ...schemaFiles(),
      { version: 9000, name: '9000-broken.sql', sql: 'CREATE TABLE half (x int); SELECT nope;' },
    ];
    await expect(migrateSchema(main.pool, broken)).rejects.toThrow(/nope/);
    const half = await main.pool.query("SELECT to_regclass('half') AS found");
    expect(half.rows[0].found).toBeNull();
    expect((await main.pool.query('SELECT max(version) AS v FROM schema_migrations')).rows[0].v).toBe(
      schemaFiles().at(-1)?.version,
    );
  } finally {
    await main.close();
  }
});

test('two writers of one document never fork its history: the one behind fails its sync', async () => {
  const { url, main } = await migrated();
  const stores = documentStores({ kind: 'postgres', url });
  try {
    const open = async () =>
      (await stores.open('contested')).store.open({ journalId: 'j', beforeWrite: async () => undefined });
    const first = await open();
    const second = await open();
    first.journal.appendFrame(frame(0));
    await first.journal.sync();
    second.journal.appendFrame(frame(0));
    await expect(second.journal.sync()).rejects.toMatchObject({ kind: 'storage-failed' });
    // Failed for good: the document must be reopened.
    expect(() => second.journal.appendFrame(frame(1))).toThrow(/must be recovered/);
    const rows = await main.pool.query<{ lsn: string; record: Buffer }>(
      "SELECT lsn, record FROM frames WHERE doc_id = 'contested'",
    );
    expect(rows.rows.map((row) => Number(row.lsn))).toEqual([0]);
  } finally {
    await stores.close();
    await main.close();
  }
});

test('a document whose rows hold fewer frames than it synced is refused as storage-corrupt', async () => {
  const { url, main } = await migrated();
  const stores = documentStores({ kind: 'postgres', url });
  try {
    const opened = await stores.open('damaged');
    const { journal } = await opened.store.open({ journalId: 'j', beforeWrite: async () => undefined });
    for (let lsn = 0; lsn < 4; lsn++) journal.appendFrame(frame(lsn));
    await journal.sync();
    await main.pool.query("DELETE FROM frames WHERE doc_id = 'damaged' AND lsn = 2");
    let told = false;
    await expect(
      (await stores.open('damaged')).store.open({
        journalId: 'j',
        beforeWrite: async () => {
          told = true;
        },
      }),
    ).rejects.toMatchObject({ kind: 'storage-corrupt', fields: { framesExpected: 4, framesReadable: 2 } });
    expect(told).toBe(false);
  } finally {
    await stores.close();
    await main.close();
  }
});

test('a checkpoint after more frames than the store holds is refused, and stores nothing', async () => {
  const { url, main } = await migrated();
  const store = new PostgresStore(url);
  try {
    const { journal } = await store
      .document('d')
      .open({ journalId: 'j', beforeWrite: async () => undefined });
    journal.appendFrame(frame(0));
    await journal.sync();
    const pages = new PageStore();
    pages.applyFrame(frame(0));
    pages.applyFrame(frame(1));
    await expect(journal.checkpoint(pages.base(), 2)).rejects.toMatchObject({
      kind: 'invalid-argument',
      fields: { framesExpected: 2, framesReadable: 1 },
    });
    expect((await main.pool.query("SELECT 1 FROM images WHERE doc_id = 'd'")).rowCount).toBe(0);
    expect((await main.pool.query("SELECT 1 FROM frames WHERE doc_id = 'd'")).rowCount).toBe(1);
  } finally {
    await Promise.all([store.close(), main.close()]);
  }
});
