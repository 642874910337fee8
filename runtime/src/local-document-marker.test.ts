import { expect, test } from 'vitest';
import { LocalDocument } from './local-document.js';
import { type Authority, openAuthority, sqlPayload, sqlReducer } from './reactive/documents.test-helpers.js';
import { Replica } from './replica.js';

let opened = 0;

/** A client whose applied-marker reads are counted (the marker: the authority's `marker` table). */
async function countingClient() {
  const replica = await Replica.open({ name: `marker-client-${++opened}`, reducer: sqlReducer });
  let reads = 0;
  const document = new LocalDocument({
    docId: `marker-client-${opened}`,
    timelineId: 'client',
    timelineSecret: 'secret',
    replica,
    migration: { fromVersion: 0, toVersion: 0, migrated: false },
    readAppliedLsn: () => {
      reads++;
      try {
        const value = replica.connection.query('SELECT lsn FROM marker', []).rows[0]?.[0];
        return value?.tag === 'integer' ? Number(value.val) : -1;
      } catch {
        return -1;
      }
    },
  });
  let delivered = 0;
  return {
    document,
    replica,
    reads: () => reads,
    catchUp: (authority: Authority) => {
      document.rebase({ journalId: 'j', frames: authority.frames.slice(delivered) });
      delivered = authority.frames.length;
    },
    snapshot: (authority: Authority) => {
      const base = authority.replica.store.base();
      document.rebase({
        journalId: 'j',
        snapshot: {
          frameCount: authority.frames.length,
          pageCount: base.pageCount,
          pages: [...base.pages()],
          hash: '',
        },
        frames: [],
      });
      delivered = authority.frames.length;
    },
  };
}

test('with nothing pending, frames of other clients read no applied marker and leave the pages the authority holds', async () => {
  const authority = await openAuthority('CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT)');
  const client = await countingClient();
  const { document } = client;
  client.catchUp(authority);

  const { lsn } = await document.mutate(sqlPayload("INSERT INTO notes(body) VALUES ('mine')"));
  authority.take(document.pendingAfter(-1));
  const readsBefore = client.reads();
  client.catchUp(authority);
  // Something was pending: the marker is read, and it says the mutation was taken.
  expect(client.reads()).toBe(readsBefore + 1);
  await expect(document.fate(lsn)).resolves.toEqual({ lsn, status: 'confirmed' });

  const quiet = client.reads();
  for (let i = 0; i < 5; i++) {
    authority.write([`INSERT INTO notes(body) VALUES ('other ${i}')`]);
    client.catchUp(authority);
  }
  expect(client.reads()).toBe(quiet);
  expect(await client.replica.pageHash()).toBe(await authority.replica.pageHash());

  // Pending again: the next frames are read for the marker, and the next mutation is confirmed.
  const next = await document.mutate(sqlPayload("INSERT INTO notes(body) VALUES ('mine again')"));
  authority.write(["INSERT INTO notes(body) VALUES ('before mine')"]);
  client.catchUp(authority);
  expect(client.reads()).toBe(quiet + 1);
  authority.take(document.pendingAfter(lsn));
  client.catchUp(authority);
  await expect(document.fate(next.lsn)).resolves.toEqual({ lsn: next.lsn, status: 'confirmed' });
  expect(await client.replica.pageHash()).toBe(await authority.replica.pageHash());

  // A snapshot is another base: its marker is read whatever is pending.
  const beforeSnapshot = client.reads();
  authority.write(["INSERT INTO notes(body) VALUES ('after')"]);
  client.snapshot(authority);
  expect(client.reads()).toBe(beforeSnapshot + 1);
  expect(await client.replica.pageHash()).toBe(await authority.replica.pageHash());
});
