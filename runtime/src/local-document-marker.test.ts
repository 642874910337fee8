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

test('with no subscription, frames arriving while mutations are pending leave them to be reduced again at the first read, and every reader sees them', async () => {
  const authority = await openAuthority('CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT)');
  const client = await countingClient();
  const { document, replica } = client;
  client.catchUp(authority);
  const bodies = async () =>
    (await document.query('SELECT body FROM notes ORDER BY body')).map((r) => r.body);

  const mine = await document.mutate(sqlPayload("INSERT INTO notes(body) VALUES ('mine')"));
  authority.write(["INSERT INTO notes(body) VALUES ('other 1')"]);
  client.catchUp(authority);
  // Dropped with the old base, not reduced yet: nothing has read the document since.
  expect(replica.store.hasOverlay).toBe(false);
  expect(await bodies()).toEqual(['mine', 'other 1']);
  expect(replica.store.hasOverlay).toBe(true);

  // A mutation made over a stale overlay is reduced after the pending ones, in lsn order.
  authority.write(["INSERT INTO notes(body) VALUES ('other 2')"]);
  client.catchUp(authority);
  const second = await document.mutate(
    sqlPayload("INSERT INTO notes(body) SELECT 'after ' || body FROM notes WHERE body = 'mine'"),
  );
  expect(await bodies()).toEqual(['after mine', 'mine', 'other 1', 'other 2']);
  authority.write(["INSERT INTO notes(body) VALUES ('other 3')"]);
  client.catchUp(authority);
  expect(await document.pageHash()).not.toBe(await authority.replica.pageHash());
  expect((await document.rejections()).length).toBe(0);

  // With a subscription the rebase reduces at once: the subscription reads in the next microtask.
  const heard: unknown[][] = [];
  const unsubscribe = document.subscribe('SELECT body FROM notes ORDER BY body', [], (rows) =>
    heard.push(rows.map((r) => r.body)),
  );
  authority.write(["INSERT INTO notes(body) VALUES ('other 4')"]);
  client.catchUp(authority);
  expect(replica.store.hasOverlay).toBe(true);
  await Promise.resolve();
  expect(heard.at(-1)).toEqual(['after mine', 'mine', 'other 1', 'other 2', 'other 3', 'other 4']);
  unsubscribe();

  // Taken: the frame holding them confirms both, and the pages are the authority's.
  authority.take(document.pendingAfter(-1));
  client.catchUp(authority);
  await expect(document.fate(mine.lsn)).resolves.toEqual({ lsn: mine.lsn, status: 'confirmed' });
  await expect(document.fate(second.lsn)).resolves.toEqual({ lsn: second.lsn, status: 'confirmed' });
  expect(await document.pageHash()).toBe(await authority.replica.pageHash());
  expect(await bodies()).toEqual(['after mine', 'mine', 'other 1', 'other 2', 'other 3', 'other 4']);
});
