import { readFile } from 'node:fs/promises';
import { Replica } from '@tandem/runtime';
import { loadReducer } from '@tandem/runtime/prepare';
import { expect, test } from 'vitest';
import { ensureSchema, META_TABLE, readSchemaVersion } from './schema-version.js';

const reducer = await loadReducer(
  await readFile(new URL('../../reducers/todo/dist/reducer.wasm', import.meta.url)),
);
let replicas = 0;

let frames = 0;

async function migrated(): Promise<Replica> {
  const replica = await Replica.open({
    name: `schema-${++replicas}`,
    reducer,
    authoritative: true,
    onFrame: () => {
      frames++;
    },
  });
  expect(ensureSchema(replica).migrated).toBe(true);
  return replica;
}

function setVersion(replica: Replica, version: number): void {
  replica.transaction(() =>
    replica.connection.execute(`UPDATE ${META_TABLE} SET value = ? WHERE key = 'schema_version'`, [
      { tag: 'integer', val: BigInt(version) },
    ]),
  );
}

test('a database found at its reducer version is answered again without a transaction while its meta table is unchanged', async () => {
  const replica = await migrated();
  const version = replica.reducerVersion;
  const at = { fromVersion: version, toVersion: version, migrated: false };
  expect(ensureSchema(replica)).toEqual(at);
  const before = frames;
  // Rows of other tables change nothing of the answer.
  replica.transaction(() => replica.connection.execute('CREATE TABLE IF NOT EXISTS other (x)', []));
  replica.transaction(() => replica.connection.execute('INSERT INTO other VALUES (1)', []));
  expect(ensureSchema(replica)).toEqual(at);
  // ensureSchema itself committed nothing: the two frames are the table's and the row's.
  expect(frames).toBe(before + 2);
  replica.close();
});

test('a meta table changed since the last answer is read again: a database moved past the reducer is refused', async () => {
  const replica = await migrated();
  const version = replica.reducerVersion;
  expect(ensureSchema(replica).migrated).toBe(false);
  setVersion(replica, version + 1);
  expect(() => ensureSchema(replica)).toThrow(expect.objectContaining({ kind: 'reducer-too-old' }));
  expect(() => ensureSchema(replica)).toThrow(expect.objectContaining({ kind: 'reducer-too-old' }));
  setVersion(replica, version);
  expect(ensureSchema(replica)).toEqual({ fromVersion: version, toVersion: version, migrated: false });
  expect(readSchemaVersion(replica)).toBe(version);
  replica.close();
});
