// Decodes each payload with the SDK's JSON decoder and with the reference (the decoder before the
// one-pass string scan), and reports both trees and both errors in one `decoded` call.
import { json, Mutation, Outcome, sql, Value } from '@tandem/reducer-sdk/assembly';
import * as reference from './reference-json';

export const SCHEMA_VERSION: u32 = 1;

export function migrate(_from: u32): Outcome {
  return Outcome.ok();
}

/** A canonical text of a decoded tree (either decoder's classes: generics are resolved per type). */
function show<V>(v: V): string {
  const kind = <i32>v.kind;
  if (kind === 0) return 'null';
  if (kind === 1) return v.asBool() ? 'true' : 'false';
  if (kind === 2) return `n${reinterpret<u64>(v.asNumber()).toString(16)}`;
  if (kind === 3) {
    const s = v.asString()!;
    return `s${s.length}:${s}`;
  }
  if (kind === 4) {
    const items = v.asArray()!;
    let out = `[${items.length}`;
    for (let i = 0; i < items.length; i++) out += `,${show(items[i])}`;
    return `${out}]`;
  }
  const o = v.asObject()!;
  let out = `{${o.keys.length}`;
  for (let i = 0; i < o.keys.length; i++) {
    const key = o.keys[i];
    out += `,s${key.length}:${key}=${show(o.get(key)!)}`;
  }
  return `${out}}`;
}

export function reduce(m: Mutation): Outcome {
  const ours = json.parse(m.payload);
  const oursError = json.lastError();
  const theirs = reference.json.parse(m.payload);
  const theirsError = reference.json.lastError();
  sql.execute('decoded', [
    Value.text(ours == null ? '' : show(ours!)),
    Value.text(oursError),
    Value.text(theirs == null ? '' : show(theirs!)),
    Value.text(theirsError),
  ]);
  return Outcome.ok();
}
