import { expect, test } from 'vitest';
import { openAuthority, sqlPayload, sqlReducer } from './reactive/documents.test-helpers.js';
import { Replica } from './replica.js';

const envelope = (lsn: number, sql: string) => ({
  timelineId: 'c',
  lsn,
  timestamp: 0,
  payload: sqlPayload(sql),
});

test('a schema change dropped with the overlay and made again by the same cached statement leaves the database sound', async () => {
  const authority = await openAuthority('CREATE TABLE a(id INTEGER PRIMARY KEY)');
  const client = await Replica.open({ name: 'schema-again', reducer: sqlReducer });
  client.applyFrames(authority.frames);
  const create = [envelope(0, 'CREATE TABLE IF NOT EXISTS d(id INTEGER PRIMARY KEY, v)')];
  expect(client.applyBatch(create)).toEqual([{ ok: true }]);
  client.discardOverlay();
  expect(client.applyBatch(create)).toEqual([{ ok: true }]);
  expect(client.query('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
  client.close();
  authority.replica.close();
});

test("the authority's schema change replaces a local one that moved the schema cookie to the same number", async () => {
  const authority = await openAuthority('CREATE TABLE a(id INTEGER PRIMARY KEY)');
  const client = await Replica.open({ name: 'schema-same-cookie', reducer: sqlReducer });
  client.applyFrames(authority.frames);
  client.applyBatch([envelope(0, 'ALTER TABLE a ADD COLUMN mine DEFAULT 1')]);
  expect(client.query('SELECT * FROM a')).toEqual([]);
  const before = authority.frames.length;
  authority.write(['ALTER TABLE a ADD COLUMN theirs DEFAULT 2', 'INSERT INTO a(id) VALUES (1)']);
  client.discardOverlay();
  client.applyFrames(authority.frames.slice(before));
  expect(client.query('PRAGMA schema_version')).toEqual([{ schema_version: 3 }]);
  expect(client.query('SELECT * FROM a')).toEqual([{ id: 1, theirs: 2 }]);
  expect(client.applyBatch([envelope(1, 'INSERT INTO a(id) VALUES (2)')])).toEqual([{ ok: true }]);
  expect(client.query('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
  client.close();
  authority.replica.close();
});
