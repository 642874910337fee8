// A strict JSON decoder (RFC 8259) over UTF-8 bytes. Invariants:
// 1. Any input yields a value or null, never a trap: every read is bounds-checked and nesting stops at
//    `MAX_DEPTH`, so recursion is bounded.
// 2. Only what RFC 8259 allows is accepted: one value with optional whitespace around it, valid UTF-8
//    (no overlong forms, no surrogate code points), no raw control characters in strings, and `\u`
//    escapes that form whole characters (a surrogate pair, never a lone surrogate).
// 3. A duplicate key keeps its last value, as `JSON.parse` does.
// 4. Numbers are the f64 JSON.parse gives, to the bit (decimal.ts).
// 5. Strings are read by json-string.ts (scanned once, written once, short ones shared).

import { copyBytes } from './abi';
import { parseJsonNumber } from './decimal';
import { NO_BYTES, StringReader } from './json-string';

export enum JsonKind {
  Null = 0,
  Bool = 1,
  Number = 2,
  String = 3,
  Array = 4,
  Object = 5,
}

/** Objects and arrays nest at most this deep; deeper input is refused. */
export const MAX_DEPTH = 64;

/** A decoded JSON value. Getters of another kind return a neutral value: false, NaN, null. */
export class JsonValue {
  constructor(
    public readonly kind: JsonKind,
    private readonly b: bool = false,
    private readonly n: f64 = 0,
    private readonly s: string | null = null,
    private readonly a: JsonValue[] | null = null,
    private readonly o: JsonObject | null = null,
  ) {}

  isNull(): bool {
    return this.kind === JsonKind.Null;
  }
  asBool(): bool {
    return this.b;
  }
  /** The number, or NaN for another kind. */
  asNumber(): f64 {
    return this.kind === JsonKind.Number ? this.n : NaN;
  }
  /** True for a number with no fractional part that an i64 holds exactly (|n| ≤ 2^53). */
  isInteger(): bool {
    return (
      this.kind === JsonKind.Number && Math.floor(this.n) === this.n && Math.abs(this.n) <= 9007199254740992
    );
  }
  asString(): string | null {
    return this.s;
  }
  asArray(): JsonValue[] | null {
    return this.a;
  }
  asObject(): JsonObject | null {
    return this.o;
  }
}

/** Objects with more keys than this are looked up through a Map; smaller ones by comparing keys. */
const INDEX_FROM = 8;

/** A JSON object: keys in first-seen order, lookups by key. */
export class JsonObject {
  /**
   * The keys in document order, and their values, `count` of each (lookups go through these, whatever a
   * reducer does to `keys`); grown by doubling.
   */
  private names: StaticArray<string> = new StaticArray<string>(4);
  private values: StaticArray<JsonValue> = new StaticArray<JsonValue>(4);
  private count: i32 = 0;
  private index: Map<string, i32> | null = null;
  private keyList: string[] | null = null;

  /**
   * The keys in document order (a duplicate appears once, where it first appeared): made on first use,
   * as most reducers only look keys up.
   */
  get keys(): string[] {
    let keys = this.keyList;
    if (keys == null) {
      const n = this.count;
      keys = new Array<string>(n);
      for (let i = 0; i < n; i++) keys[i] = this.names[i];
      this.keyList = keys;
    }
    return keys;
  }

  /** The value under `key`, or null when absent. */
  get(key: string): JsonValue | null {
    const i = this.find(key);
    return i < 0 ? null : unchecked(this.values[i]);
  }
  has(key: string): bool {
    return this.find(key) >= 0;
  }
  /** The string under `key`, or null when absent or not a string. */
  getString(key: string): string | null {
    const v = this.get(key);
    return v == null ? null : v.asString();
  }
  /** The number under `key`, or NaN when absent or not a number. */
  getNumber(key: string): f64 {
    const v = this.get(key);
    return v == null ? NaN : v.asNumber();
  }
  /** True only when `key` holds `true`. */
  getBool(key: string): bool {
    const v = this.get(key);
    return v != null && v.asBool();
  }
  getObject(key: string): JsonObject | null {
    const v = this.get(key);
    return v == null ? null : v.asObject();
  }
  getArray(key: string): JsonValue[] | null {
    const v = this.get(key);
    return v == null ? null : v.asArray();
  }

  set(key: string, value: JsonValue): void {
    const i = this.find(key);
    if (i >= 0) {
      this.values[i] = value;
      return;
    }
    const keys = this.keyList;
    if (keys != null) keys.push(key);
    const n = this.count;
    if (n === this.names.length) this.grow(n * 2);
    this.names[n] = key;
    this.values[n] = value;
    this.count = n + 1;
    let index = this.index;
    if (index != null) {
      index.set(key, n);
    } else if (n + 1 > INDEX_FROM) {
      index = new Map<string, i32>();
      for (let k = 0; k <= n; k++) index.set(unchecked(this.names[k]), k);
      this.index = index;
    }
  }

  private grow(capacity: i32): void {
    const names = new StaticArray<string>(capacity);
    const values = new StaticArray<JsonValue>(capacity);
    for (let k = 0, n = this.count; k < n; k++) {
      names[k] = this.names[k];
      values[k] = this.values[k];
    }
    this.names = names;
    this.values = values;
  }

  private find(key: string): i32 {
    const index = this.index;
    if (index != null) return index.has(key) ? index.get(key) : -1;
    const names = this.names;
    for (let i = 0, n = this.count; i < n; i++) if (unchecked(names[i]) === key) return i;
    return -1;
  }
}

const NULL_VALUE = new JsonValue(JsonKind.Null);
const TRUE_VALUE = new JsonValue(JsonKind.Bool, true);
const FALSE_VALUE = new JsonValue(JsonKind.Bool, false);

class Parser extends StringReader {
  fail(message: string): JsonValue | null {
    this.noteFailure(message);
    return null;
  }

  skipWhitespace(): void {
    while (true) {
      const c = this.peek();
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
      this.pos++;
    }
  }

  literal(word: string, value: JsonValue): JsonValue | null {
    for (let i = 0; i < word.length; i++) {
      if (this.peek() !== word.charCodeAt(i)) return this.fail(`invalid literal, expected '${word}'`);
      this.pos++;
    }
    return value;
  }

  value(depth: i32): JsonValue | null {
    this.skipWhitespace();
    const c = this.peek();
    if (c === 0x7b) return this.object(depth + 1);
    if (c === 0x5b) return this.array(depth + 1);
    if (c === 0x22) {
      const s = this.string();
      return s == null ? null : new JsonValue(JsonKind.String, false, 0, s);
    }
    if (c === 0x74) return this.literal('true', TRUE_VALUE);
    if (c === 0x66) return this.literal('false', FALSE_VALUE);
    if (c === 0x6e) return this.literal('null', NULL_VALUE);
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    if (c < 0) return this.fail('unexpected end of input');
    return this.fail('unexpected character');
  }

  object(depth: i32): JsonValue | null {
    if (depth > MAX_DEPTH) return this.fail('nesting deeper than 64');
    this.pos++;
    const obj = new JsonObject();
    this.skipWhitespace();
    if (this.peek() === 0x7d) {
      this.pos++;
      return new JsonValue(JsonKind.Object, false, 0, null, null, obj);
    }
    while (true) {
      this.skipWhitespace();
      if (this.peek() !== 0x22) return this.fail('expected a string key');
      const key = this.string();
      if (key == null) return null;
      this.skipWhitespace();
      if (this.peek() !== 0x3a) return this.fail("expected ':'");
      this.pos++;
      const v = this.value(depth);
      if (v == null) return null;
      obj.set(key, v);
      this.skipWhitespace();
      const c = this.peek();
      this.pos++;
      if (c === 0x7d) return new JsonValue(JsonKind.Object, false, 0, null, null, obj);
      if (c !== 0x2c) {
        this.pos--;
        return this.fail("expected ',' or '}'");
      }
    }
  }

  array(depth: i32): JsonValue | null {
    if (depth > MAX_DEPTH) return this.fail('nesting deeper than 64');
    this.pos++;
    const items: JsonValue[] = [];
    this.skipWhitespace();
    if (this.peek() === 0x5d) {
      this.pos++;
      return new JsonValue(JsonKind.Array, false, 0, null, items);
    }
    while (true) {
      const v = this.value(depth);
      if (v == null) return null;
      items.push(v);
      this.skipWhitespace();
      const c = this.peek();
      this.pos++;
      if (c === 0x5d) return new JsonValue(JsonKind.Array, false, 0, null, items);
      if (c !== 0x2c) {
        this.pos--;
        return this.fail("expected ',' or ']'");
      }
    }
  }

  digits(): i32 {
    const start = this.pos;
    while (true) {
      const c = this.peek();
      if (c < 0x30 || c > 0x39) return this.pos - start;
      this.pos++;
    }
  }

  number(): JsonValue | null {
    const start = this.pos;
    if (this.peek() === 0x2d) this.pos++;
    if (this.peek() === 0x30) {
      this.pos++;
    } else if (this.digits() === 0) {
      return this.fail('expected a digit');
    }
    if (this.peek() === 0x2e) {
      this.pos++;
      if (this.digits() === 0) return this.fail('expected a digit after the decimal point');
    }
    const e = this.peek();
    if (e === 0x65 || e === 0x45) {
      this.pos++;
      const sign = this.peek();
      if (sign === 0x2b || sign === 0x2d) this.pos++;
      if (this.digits() === 0) return this.fail('expected a digit in the exponent');
    }
    return new JsonValue(JsonKind.Number, false, parseJsonNumber(this.bytes, start, this.pos));
  }
}

/** Decodes UTF-8 JSON text. Malformed input returns null, never traps; `json.lastError()` says why. */
export namespace json {
  let error: string = '';

  const parser = new Parser();

  export function parse(bytes: Uint8Array): JsonValue | null {
    const p = parser;
    // A private copy: strings noted in utf8-origin.ts point into it, and a reducer may write to `bytes`.
    p.start(copyBytes(bytes.dataStart, <usize>bytes.length));
    let v = p.value(0);
    if (v != null) {
      p.skipWhitespace();
      if (p.pos < bytes.length) v = p.fail('unexpected data after the value');
    }
    error = p.error == null ? '' : p.error!;
    // The parser is a global: it must not keep the payload alive once the call ends.
    p.start(NO_BYTES);
    return v;
  }

  /** Decodes a JSON object; null for malformed input or another kind of value (see `lastError()`). */
  export function parseObject(bytes: Uint8Array): JsonObject | null {
    const v = parse(bytes);
    if (v == null) return null;
    const obj = v.asObject();
    if (obj == null) error = 'not a JSON object';
    return obj;
  }

  /** Decodes JSON held in a string. */
  export function parseString(text: string): JsonValue | null {
    return parse(Uint8Array.wrap(String.UTF8.encode(text, false, String.UTF8.ErrorMode.REPLACE)));
  }

  /** Why the last `parse` returned null ('' after a success). */
  export function lastError(): string {
    return error;
  }
}
