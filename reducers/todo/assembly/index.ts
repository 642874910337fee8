// The todo example: one table, six mutations. Every mutation is JSON: {"type": …, …}.
//
// Schema version 2 added `priority` (an integer, 0 by default) and the `setPriority` mutation. A client
// may still hold mutations its version 1 wrote (offline, pending) when this version reaches it, so every
// version 1 mutation stays valid here with its old meaning: a `create` without `priority` makes a todo
// of priority 0. Version 1 itself is kept, frozen, in e2e/fixtures/todo-v1-reducer for the upgrade tests.
import { ExecResult, JsonObject, json, Mutation, Outcome, sql, Value } from '@tandem/reducer-sdk/assembly';

export const SCHEMA_VERSION: u32 = 2;

const MAX_TITLE_LENGTH = 200;
const MAX_PRIORITY: f64 = 1000;

export function migrate(from: u32): Outcome {
  if (from < 1) {
    const r = sql.execute(
      'CREATE TABLE todos (id TEXT PRIMARY KEY, title TEXT NOT NULL, completed INTEGER NOT NULL, created_at INTEGER NOT NULL)',
    );
    if (!r.ok) return Outcome.reject(r.error!);
  }
  if (from < 2) {
    const r = sql.execute('ALTER TABLE todos ADD COLUMN priority INTEGER NOT NULL DEFAULT 0');
    if (!r.ok) return Outcome.reject(r.error!);
  }
  return Outcome.ok();
}

export function reduce(m: Mutation): Outcome {
  const doc = json.parse(m.payload);
  if (doc == null) return Outcome.reject(`payload is not valid JSON: ${json.lastError()}`);
  const obj = doc.asObject();
  if (obj == null) return Outcome.reject('payload is not a JSON object');
  const type = obj.getString('type');
  if (type == null) return Outcome.reject("missing string field 'type'");
  if (type === 'create') return create(obj, m.timestamp);
  if (type === 'rename') return rename(obj);
  if (type === 'toggle') return toggle(obj);
  if (type === 'delete') return remove(obj);
  if (type === 'setPriority') return setPriority(obj);
  if (type === 'clearCompleted') return done(sql.execute('DELETE FROM todos WHERE completed = 1'));
  return Outcome.reject(`unknown mutation type '${type}'`);
}

function create(obj: JsonObject, timestamp: u64): Outcome {
  const id = obj.getString('id');
  if (id == null) return Outcome.reject("missing string field 'id'");
  const title = obj.getString('title');
  const invalid = checkTitle(title);
  if (invalid != null) return Outcome.reject(invalid);
  // Absent in version 1's creates: those make a todo of priority 0, as they always did.
  let priority: i64 = 0;
  if (obj.has('priority')) {
    const invalidPriority = checkPriority(obj);
    if (invalidPriority != null) return Outcome.reject(invalidPriority);
    priority = <i64>obj.getNumber('priority');
  }
  if (exists(id)) return Outcome.reject(`a todo with id '${id}' already exists`);
  return done(
    sql.execute('INSERT INTO todos (id, title, completed, created_at, priority) VALUES (?, ?, 0, ?, ?)', [
      Value.text(id),
      Value.text(title!),
      Value.integer(<i64>timestamp),
      Value.integer(priority),
    ]),
  );
}

function setPriority(obj: JsonObject): Outcome {
  const id = obj.getString('id');
  if (id == null) return Outcome.reject("missing string field 'id'");
  const invalid = checkPriority(obj);
  if (invalid != null) return Outcome.reject(invalid);
  return changeOne(
    sql.execute('UPDATE todos SET priority = ? WHERE id = ?', [
      Value.integer(<i64>obj.getNumber('priority')),
      Value.text(id),
    ]),
    id,
  );
}

function rename(obj: JsonObject): Outcome {
  const id = obj.getString('id');
  if (id == null) return Outcome.reject("missing string field 'id'");
  const title = obj.getString('title');
  const invalid = checkTitle(title);
  if (invalid != null) return Outcome.reject(invalid);
  return changeOne(
    sql.execute('UPDATE todos SET title = ? WHERE id = ?', [Value.text(title!), Value.text(id)]),
    id,
  );
}

function toggle(obj: JsonObject): Outcome {
  const id = obj.getString('id');
  if (id == null) return Outcome.reject("missing string field 'id'");
  return changeOne(
    sql.execute('UPDATE todos SET completed = 1 - completed WHERE id = ?', [Value.text(id)]),
    id,
  );
}

function remove(obj: JsonObject): Outcome {
  const id = obj.getString('id');
  if (id == null) return Outcome.reject("missing string field 'id'");
  return changeOne(sql.execute('DELETE FROM todos WHERE id = ?', [Value.text(id)]), id);
}

/** Why `title` is not acceptable, or null. Length counts UTF-16 code units, like JavaScript's `length`. */
function checkTitle(title: string | null): string | null {
  if (title == null) return "missing string field 'title'";
  if (title.length === 0) return 'title is empty';
  if (title.length > MAX_TITLE_LENGTH) return `title is longer than ${MAX_TITLE_LENGTH} characters`;
  return null;
}

/** Why the object's `priority` is not acceptable, or null: a whole number from 0 to MAX_PRIORITY. */
function checkPriority(obj: JsonObject): string | null {
  const value = obj.get('priority');
  if (value == null || !value.isInteger()) return "field 'priority' must be a whole number";
  const n = value.asNumber();
  if (n < 0 || n > MAX_PRIORITY) return `priority must be from 0 to ${<i32>MAX_PRIORITY}`;
  return null;
}

function exists(id: string): bool {
  const r = sql.query('SELECT 1 FROM todos WHERE id = ?', [Value.text(id)]);
  return r.ok && r.rows.length > 0;
}

function done(r: ExecResult): Outcome {
  return r.ok ? Outcome.ok() : Outcome.reject(r.error!);
}

function changeOne(r: ExecResult, id: string): Outcome {
  if (!r.ok) return Outcome.reject(r.error!);
  return r.changes === 0 ? Outcome.reject(`no todo with id '${id}'`) : Outcome.ok();
}
