// A reducer that exercises the SDK for reducer-sdk's tests: each payload names what to do, and the
// reducer reports what it saw through SQL calls the test's fake host records.
import {
  JsonKind,
  JsonValue,
  json,
  log,
  Mutation,
  now,
  Outcome,
  random,
  sql,
  Value,
} from '@tandem/reducer-sdk/assembly';

export const SCHEMA_VERSION: u32 = 7;

export function migrate(from: u32): Outcome {
  if (from === 99) return Outcome.reject('cannot migrate from 99 ✗');
  sql.execute('migrate', [Value.integer(from), Value.real(Math.random()), Value.integer(now())]);
  return Outcome.ok();
}

function sendValues(): void {
  const blob = new Uint8Array(256);
  for (let i = 0; i < 256; i++) blob[i] = <u8>i;
  sql.execute('values', [
    Value.null(),
    Value.integer(i64.MIN_VALUE),
    Value.integer(i64.MAX_VALUE),
    Value.integer(0),
    Value.integer(-1),
    Value.real(2.0),
    Value.real(-0.0),
    Value.real(1e300),
    Value.real(5e-324),
    Value.real(0.1),
    Value.real(Infinity),
    Value.text(''),
    Value.text('héllo wörld ✓ 🌍 中文'),
    Value.blob(new Uint8Array(0)),
    Value.blob(blob),
    Value.bool(true),
  ]);
}

/** Sends back what `query('echo')` returned: the columns as text, the rows as one batch. */
function echo(): Outcome {
  const r = sql.query('echo');
  if (!r.ok) return Outcome.reject(r.error!);
  const columns: Value[] = [];
  for (let i = 0; i < r.columns.length; i++) columns.push(Value.text(r.columns[i]));
  sql.execute('columns', columns);
  sql.execute('column-index', [Value.integer(r.column('b')), Value.integer(r.column('nope'))]);
  sql.executeBatch('rows', r.rows);
  return Outcome.ok();
}

function errors(): Outcome {
  const e = sql.execute('FAIL execute');
  const q = sql.query('FAIL query');
  const b = sql.executeBatch('FAIL batch', [[Value.integer(1)]]);
  return Outcome.reject(
    `${e.error!}|${q.error!}|${b.error!}|${e.changes}|${q.rows.length}|${e.ok}|${e.code}|${q.code}|${b.code}`,
  );
}

function envelope(m: Mutation): void {
  sql.execute('envelope', [
    Value.text(m.timelineId),
    Value.integer(<i64>m.lsn),
    Value.integer(<i64>m.timestamp),
    Value.integer(<i64>now()),
    Value.integer(<i64>random()),
    Value.real(Math.random()),
    Value.real(Math.random()),
    Value.blob(m.payload),
  ]);
}

/** Reports a decoded JSON tree as one `node` call per value: path, kind, value. */
function walk(v: JsonValue, path: string): void {
  const kind = Value.integer(v.kind);
  if (v.kind === JsonKind.Object) {
    const obj = v.asObject()!;
    sql.execute('node', [Value.text(path), kind, Value.integer(obj.keys.length)]);
    for (let i = 0; i < obj.keys.length; i++) walk(obj.get(obj.keys[i])!, `${path}/${obj.keys[i]}`);
  } else if (v.kind === JsonKind.Array) {
    const items = v.asArray()!;
    sql.execute('node', [Value.text(path), kind, Value.integer(items.length)]);
    for (let i = 0; i < items.length; i++) walk(items[i], `${path}/${i}`);
  } else if (v.kind === JsonKind.String) {
    sql.execute('node', [Value.text(path), kind, Value.text(v.asString()!)]);
  } else if (v.kind === JsonKind.Number) {
    sql.execute('node', [Value.text(path), kind, Value.real(v.asNumber())]);
  } else if (v.kind === JsonKind.Bool) {
    sql.execute('node', [Value.text(path), kind, Value.bool(v.asBool())]);
  } else {
    sql.execute('node', [Value.text(path), kind, Value.null()]);
  }
}

function accessors(obj: JsonValue): void {
  const o = obj.asObject();
  if (o == null) return;
  const s = o.getString('s');
  const n = o.getNumber('n');
  sql.execute('accessors', [
    s == null ? Value.null() : Value.text(s),
    Value.real(n),
    Value.bool(o.getBool('b')),
    Value.bool(o.getObject('o') != null),
    Value.bool(o.getArray('a') != null),
    Value.bool(o.has('z')),
    Value.bool(o.get('n') != null && o.get('n')!.isInteger()),
  ]);
}

/** Sends a string of arbitrary UTF-16 units (lone surrogates too) in every place a string crosses. */
function units(m: Mutation): void {
  const s = String.UTF16.decodeUnsafe(m.payload.dataStart + 6, m.payload.byteLength - 6);
  sql.execute(`units:${s}`, [Value.text(s), Value.integer(1), Value.text(s + s)]);
  sql.executeBatch(`batch:${s}`, [[Value.text(s)], [], [Value.blob(m.payload), Value.text(s)]]);
  sql.query(`query:${s}`, [Value.text(s)]);
}

/**
 * Parses `{"s": [...strings]}` (after the `origin:` prefix), overwrites the payload, then sends each
 * string: what arrives must be what was parsed, not what the payload holds now.
 */
function origin(m: Mutation): Outcome {
  const doc = json.parse(m.payload.subarray(7));
  if (doc == null) return Outcome.reject(`invalid: ${json.lastError()}`);
  const items = doc.asObject()!.getArray('s')!;
  m.payload.fill(0x58);
  const values: Value[] = [];
  for (let i = 0; i < items.length; i++) values.push(Value.text(items[i].asString()!));
  sql.execute('origin', values);
  return Outcome.ok();
}

export function reduce(m: Mutation): Outcome {
  const text = m.text();
  if (text.startsWith('origin:')) return origin(m);
  if (text.startsWith('build:')) {
    // Strings made in this call, of the length strings parsed in an earlier call had (at their addresses?).
    const length = <i32>parseInt(text.substring(6));
    const values: Value[] = [];
    for (let k = 0; k < 64; k++)
      values.push(Value.text('B'.repeat(length - 3) + k.toString().padStart(3, '0')));
    sql.execute('build', values);
    return Outcome.ok();
  }
  if (text.startsWith('units:')) {
    units(m);
    return Outcome.ok();
  }
  if (text.startsWith('json:') || text.startsWith('accessors:')) {
    const at = text.startsWith('json:') ? 5 : 10;
    const doc = json.parse(m.payload.subarray(at));
    if (doc == null) return Outcome.reject(`invalid: ${json.lastError()}`);
    if (at === 5) walk(doc, '');
    else accessors(doc);
    return Outcome.ok();
  }
  if (text === 'values') sendValues();
  else if (text === 'echo') return echo();
  else if (text === 'errors') return errors();
  else if (text === 'envelope') envelope(m);
  else if (text === 'log') {
    log.debug('débug');
    log.info('ínfo');
    log.warn('wärn');
    log.error('érror 🚨');
  } else if (text === 'reject') return Outcome.reject('nein ✗ 🚫');
  else if (text === 'trap') unreachable();
  else if (text === 'abort') abort('x must be positive');
  else if (text === 'index') {
    const empty: i32[] = [];
    return Outcome.reject(`${empty[<i32>m.lsn]}`);
  } else if (text.startsWith('script:')) {
    const r = sql.executeScript(text.substring(7));
    return Outcome.reject(`${r.changes}|${r.code}|${r.ok ? 'ok' : r.error!}`);
  } else return Outcome.reject(`unknown probe '${text}'`);
  return Outcome.ok();
}
