// The todo example: one table, five mutations. Every mutation is JSON: {"type": …, …}.
import { ExecResult, JsonObject, json, Mutation, Outcome, sql, Value } from '@tandem/reducer-sdk/assembly';

export const SCHEMA_VERSION: u32 = 1;

const MAX_TITLE_LENGTH = 200;

export function migrate(from: u32): Outcome {
  if (from < 1) {
    const r = sql.execute(
      'CREATE TABLE todos (id TEXT PRIMARY KEY, title TEXT NOT NULL, completed INTEGER NOT NULL, created_at INTEGER NOT NULL)',
    );
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
  if (type === 'clearCompleted') return done(sql.execute('DELETE FROM todos WHERE completed = 1'));
  return Outcome.reject(`unknown mutation type '${type}'`);
}

function create(obj: JsonObject, timestamp: u64): Outcome {
  const id = obj.getString('id');
  if (id == null) return Outcome.reject("missing string field 'id'");
  const title = obj.getString('title');
  const invalid = checkTitle(title);
  if (invalid != null) return Outcome.reject(invalid);
  if (exists(id)) return Outcome.reject(`a todo with id '${id}' already exists`);
  return done(
    sql.execute('INSERT INTO todos (id, title, completed, created_at) VALUES (?, ?, 0, ?)', [
      Value.text(id),
      Value.text(title!),
      Value.integer(<i64>timestamp),
    ]),
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
