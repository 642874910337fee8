// The SDK's JSON decoder as it was before the one-pass string scan (commit e4a8e61), kept as the
// reference the tests compare today's decoder with: the same values, the same errors at the same bytes.
// A strict JSON decoder (RFC 8259) over UTF-8 bytes. Invariants:
// 1. Any input yields a value or null, never a trap: every read is bounds-checked and nesting stops at
//    `MAX_DEPTH`, so recursion is bounded.
// 2. Only what RFC 8259 allows is accepted: one value with optional whitespace around it, valid UTF-8
//    (no overlong forms, no surrogate code points), no raw control characters in strings, and `\u`
//    escapes that form whole characters (a surrogate pair, never a lone surrogate).
// 3. A duplicate key keeps its last value, as `JSON.parse` does.
// 4. Numbers are the f64 JSON.parse gives, to the bit (decimal.ts).

import { parseJsonNumber } from '@tandem/reducer-sdk/assembly/decimal';

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

/** A JSON object: keys in first-seen order, lookups by key. */
export class JsonObject {
  readonly keys: string[] = [];
  private readonly values: Map<string, JsonValue> = new Map();

  /** The value under `key`, or null when absent. */
  get(key: string): JsonValue | null {
    return this.values.has(key) ? this.values.get(key) : null;
  }
  has(key: string): bool {
    return this.values.has(key);
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
    if (!this.values.has(key)) this.keys.push(key);
    this.values.set(key, value);
  }
}

class Parser {
  pos: i32 = 0;
  error: string | null = null;

  constructor(private readonly bytes: Uint8Array) {}

  fail(message: string): JsonValue | null {
    if (this.error == null) this.error = `${message} at byte ${this.pos}`;
    return null;
  }

  failString(message: string): string | null {
    this.fail(message);
    return null;
  }

  peek(): i32 {
    return this.pos < this.bytes.length ? <i32>unchecked(this.bytes[this.pos]) : -1;
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
    if (c === 0x74) return this.literal('true', new JsonValue(JsonKind.Bool, true));
    if (c === 0x66) return this.literal('false', new JsonValue(JsonKind.Bool, false));
    if (c === 0x6e) return this.literal('null', new JsonValue(JsonKind.Null));
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

  hex4(): i32 {
    let v = 0;
    for (let i = 0; i < 4; i++) {
      const c = this.peek();
      let d = -1;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if (c >= 0x61 && c <= 0x66) d = c - 0x57;
      else if (c >= 0x41 && c <= 0x46) d = c - 0x37;
      if (d < 0) return -1;
      v = (v << 4) | d;
      this.pos++;
    }
    return v;
  }

  /** The byte at `pos` if it is a UTF-8 continuation byte within [lo, hi], else -1. */
  continuation(lo: i32, hi: i32): i32 {
    const c = this.peek();
    if (c < lo || c > hi) return -1;
    this.pos++;
    return c & 0x3f;
  }

  /** Decodes one UTF-8 sequence starting at a byte ≥ 0x80, or -1 if it is not valid UTF-8. */
  utf8(lead: i32): i32 {
    this.pos++;
    if (lead >= 0xc2 && lead <= 0xdf) {
      const c1 = this.continuation(0x80, 0xbf);
      return c1 < 0 ? -1 : ((lead & 0x1f) << 6) | c1;
    }
    if (lead >= 0xe0 && lead <= 0xef) {
      const c1 = this.continuation(lead === 0xe0 ? 0xa0 : 0x80, lead === 0xed ? 0x9f : 0xbf);
      if (c1 < 0) return -1;
      const c2 = this.continuation(0x80, 0xbf);
      return c2 < 0 ? -1 : ((lead & 0x0f) << 12) | (c1 << 6) | c2;
    }
    if (lead >= 0xf0 && lead <= 0xf4) {
      const c1 = this.continuation(lead === 0xf0 ? 0x90 : 0x80, lead === 0xf4 ? 0x8f : 0xbf);
      if (c1 < 0) return -1;
      const c2 = this.continuation(0x80, 0xbf);
      if (c2 < 0) return -1;
      const c3 = this.continuation(0x80, 0xbf);
      return c3 < 0 ? -1 : ((lead & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3;
    }
    return -1;
  }

  string(): string | null {
    this.pos++;
    const units: u16[] = [];
    while (true) {
      const c = this.peek();
      if (c < 0) return this.failString('unterminated string');
      if (c === 0x22) {
        this.pos++;
        return String.UTF16.decodeUnsafe(units.dataStart, (<usize>units.length) << 1);
      }
      if (c < 0x20) return this.failString('control character in string');
      if (c === 0x5c) {
        this.pos++;
        const e = this.peek();
        this.pos++;
        if (e === 0x22 || e === 0x5c || e === 0x2f) units.push(<u16>e);
        else if (e === 0x62) units.push(0x08);
        else if (e === 0x66) units.push(0x0c);
        else if (e === 0x6e) units.push(0x0a);
        else if (e === 0x72) units.push(0x0d);
        else if (e === 0x74) units.push(0x09);
        else if (e === 0x75) {
          const u = this.hex4();
          if (u < 0) return this.failString('invalid \\u escape');
          if (u >= 0xdc00 && u <= 0xdfff) return this.failString('lone low surrogate');
          if (u >= 0xd800 && u <= 0xdbff) {
            if (this.peek() !== 0x5c) return this.failString('lone high surrogate');
            this.pos++;
            if (this.peek() !== 0x75) return this.failString('lone high surrogate');
            this.pos++;
            const low = this.hex4();
            if (low < 0xdc00 || low > 0xdfff) return this.failString('lone high surrogate');
            units.push(<u16>u);
            units.push(<u16>low);
          } else {
            units.push(<u16>u);
          }
        } else {
          this.pos--;
          return this.failString('invalid escape');
        }
      } else if (c < 0x80) {
        units.push(<u16>c);
        this.pos++;
      } else {
        const start = this.pos;
        const cp = this.utf8(c);
        if (cp < 0) {
          this.pos = start;
          return this.failString('invalid UTF-8');
        }
        if (cp >= 0x10000) {
          units.push(<u16>(0xd800 + ((cp - 0x10000) >> 10)));
          units.push(<u16>(0xdc00 + ((cp - 0x10000) & 0x3ff)));
        } else {
          units.push(<u16>cp);
        }
      }
    }
  }
}

/** Decodes UTF-8 JSON text. Malformed input returns null, never traps; `json.lastError()` says why. */
export namespace json {
  let error: string = '';

  export function parse(bytes: Uint8Array): JsonValue | null {
    const p = new Parser(bytes);
    let v = p.value(0);
    if (v != null) {
      p.skipWhitespace();
      if (p.pos < bytes.length) v = p.fail('unexpected data after the value');
    }
    error = p.error == null ? '' : p.error!;
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
