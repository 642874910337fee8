import { expect, test } from 'vitest';
import type { Row } from '../local-document.js';
import { openAuthority, openClient, settle, sqlPayload } from './documents.test-helpers.js';

const SCHEMA = `
  CREATE TABLE todos(id TEXT PRIMARY KEY, title TEXT, done INTEGER DEFAULT 0);
  CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT)`;
const TODOS = 'SELECT id, title FROM todos ORDER BY id';

async function subscribedClient() {
  const authority = await openAuthority(SCHEMA);
  const client = await openClient();
  client.catchUp(authority);
  const heard: Row[][] = [];
  client.document.subscribe(TODOS, [], (rows) => heard.push(rows));
  await settle();
  return { authority, client, heard };
}

test('a subscription on todos is not re-run when a mutation writes only another table', async () => {
  const { client, heard } = await subscribedClient();
  const { document } = client;
  const runs = document.subscriptionRuns;
  await document.mutate(sqlPayload("INSERT INTO notes(body) VALUES ('not a todo')"));
  await document.mutateBatch([
    sqlPayload("INSERT INTO notes(body) VALUES ('another')"),
    sqlPayload('UPDATE notes SET body = upper(body)'),
  ]);
  await settle();
  expect(document.subscriptionRuns).toBe(runs);
  await document.mutate(sqlPayload("INSERT INTO todos(id, title) VALUES ('t1', 'milk')"));
  await settle();
  expect(document.subscriptionRuns).toBe(runs + 1);
  expect(heard).toEqual([[], [{ id: 't1', title: 'milk' }]]);
  await document.close();
});

test('a subscription is not re-run by a rebase whose frames and pending mutations write only other tables', async () => {
  const { authority, client, heard } = await subscribedClient();
  const { document } = client;
  await document.mutate(sqlPayload("INSERT INTO notes(body) VALUES ('mine, pending')"));
  authority.write(["INSERT INTO notes(body) VALUES ('theirs')", "UPDATE notes SET body = body || '!'"]);
  await settle();
  const runs = document.subscriptionRuns;
  client.catchUp(authority);
  await settle();
  expect(document.subscriptionRuns).toBe(runs);
  authority.write(["INSERT INTO todos(id, title) VALUES ('t1', 'from them')"]);
  client.snapshot(authority);
  await settle();
  expect(document.subscriptionRuns).toBe(runs + 1);
  expect(heard.at(-1)).toEqual([{ id: 't1', title: 'from them' }]);
  await document.close();
});

test('writes the mutation never names reach a subscription: a trigger, a REPLACE, a table emptied at once', async () => {
  const { client, heard } = await subscribedClient();
  const { document } = client;
  await document.mutateBatch([
    sqlPayload(
      "CREATE TRIGGER note_todo AFTER INSERT ON notes BEGIN INSERT OR REPLACE INTO todos(id, title) VALUES ('n' || new.id, new.body); END",
    ),
    sqlPayload("INSERT INTO notes(id, body) VALUES (1, 'via trigger')"),
  ]);
  await settle();
  expect(heard.at(-1)).toEqual([{ id: 'n1', title: 'via trigger' }]);
  await document.mutate(sqlPayload("INSERT INTO notes(id, body) VALUES (2, 'again')"));
  await settle();
  expect(heard.at(-1)).toEqual([
    { id: 'n1', title: 'via trigger' },
    { id: 'n2', title: 'again' },
  ]);
  await document.mutate(sqlPayload("INSERT OR REPLACE INTO todos(id, title) VALUES ('n1', 'replaced')"));
  await settle();
  expect(heard.at(-1)?.[0]).toEqual({ id: 'n1', title: 'replaced' });
  await document.mutate(sqlPayload('DELETE FROM todos'));
  await settle();
  expect(heard.at(-1)).toEqual([]);
  await document.close();
});

test('rows reach the listener only when they differ, however often the query re-runs', async () => {
  const { client, heard } = await subscribedClient();
  const { document } = client;
  const runs = document.subscriptionRuns;
  await document.mutate(sqlPayload("INSERT INTO todos(id, title) VALUES ('t1', 'milk')"));
  await settle();
  await document.mutate(sqlPayload("UPDATE todos SET done = 1 WHERE id = 't1'"));
  await settle();
  expect(document.subscriptionRuns).toBe(runs + 2);
  expect(heard).toEqual([[], [{ id: 't1', title: 'milk' }]]);
  await document.close();
});

test('a listener that changes the rows it was given cannot make the next change go unheard', async () => {
  const { client } = await subscribedClient();
  const { document } = client;
  const heard: string[] = [];
  document.subscribe('SELECT id, title FROM todos ORDER BY id', [], (rows) => {
    heard.push(JSON.stringify(rows));
    // What the rows will be after the next mutation: the document must not compare with this.
    rows.length = 0;
    rows.push({ id: 't1', title: 'bread' });
  });
  await settle();
  await document.mutate(sqlPayload("INSERT INTO todos(id, title) VALUES ('t1', 'bread')"));
  await settle();
  expect(heard).toEqual(['[]', '[{"id":"t1","title":"bread"}]']);
  await document.close();
});

test('rows whose values read the same are not heard again, even when SQLite returns them as another type', async () => {
  const { client } = await subscribedClient();
  const { document } = client;
  const heard: Row[][] = [];
  const sql = 'SELECT CASE WHEN count(*) > 1 THEN 2.0 ELSE 2 END AS n FROM todos';
  document.subscribe(sql, [], (rows) => heard.push(rows));
  await settle();
  const runs = document.subscriptionRuns;
  await document.mutate(sqlPayload("INSERT INTO todos(id, title) VALUES ('t1', 'milk'), ('t2', 'eggs')"));
  await settle();
  expect(document.subscriptionRuns).toBeGreaterThan(runs);
  expect(heard).toEqual([[{ n: 2 }]]);
  await document.close();
});

test('a subscription to a table that does not exist yet starts hearing rows once a schema change creates it', async () => {
  const { client } = await subscribedClient();
  const { document } = client;
  const heard: Row[][] = [];
  const errors: unknown[] = [];
  document.subscribe(
    'SELECT * FROM later',
    [],
    (rows) => heard.push(rows),
    (error) => errors.push(error),
  );
  await settle();
  expect(String(errors[0])).toMatch(/no such table/);
  await document.mutate(sqlPayload("INSERT INTO notes(body) VALUES ('no schema change')"));
  await settle();
  expect(errors).toHaveLength(1);
  await document.mutate(sqlPayload('CREATE TABLE later(x)'));
  await settle();
  expect(heard).toEqual([[]]);
  await document.mutate(sqlPayload('INSERT INTO later VALUES (1)'));
  await settle();
  expect(heard).toEqual([[], [{ x: 1 }]]);
  await document.close();
});
