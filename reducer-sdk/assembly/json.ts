// A strict JSON decoder (RFC 8259) over UTF-8 bytes. Invariants:
// 1. Any input yields a value or null, never a trap: every read is bounds-checked and nesting stops at
//    `MAX_DEPTH`, so recursion is bounded.
// 2. Only what RFC 8259 allows is accepted: one value with optional whitespace around it, valid UTF-8
//    (no overlong forms, no surrogate code points), no raw control characters in strings, and `\u`
//    escapes that form whole characters (a surrogate pair, never a lone surrogate).
// 3. A duplicate key keeps its last value, as `JSON.parse` does.
// 4. Numbers are the f64 JSON.parse gives, to the bit (decimal.ts).
// 5. A string is scanned once over its UTF-8 bytes (eight at a time while they need no look: ASCII with
//    no quote, backslash or control character), which validates it and counts its UTF-16 units, then
//    written once into a string of exactly that length: a plain slice is widened word by word, anything
//    else decoded from the bytes the scan already checked. Error messages and byte offsets are those of
//    a byte-at-a-time decoder.
// 6. Short plain strings may be shared (shortString): a string cannot change, so no reducer can tell.
// 7. Long plain strings are noted with their bytes in the parser's copy of the input (utf8-origin.ts).

import { copyBytes } from './abi';
import { parseJsonNumber } from './decimal';
import { noteOrigin } from './utf8-origin';

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

const LOW_BITS: u64 = <u64>0x01010101 * 0x100000001;
const HIGH_BITS: u64 = LOW_BITS * 0x80;

/**
 * True when none of the 8 bytes of `w` needs a look inside a string: each is ASCII, at least 0x20, and
 * neither '"' nor '\\'. (Each test is exact for "some byte is": see "hasless" and "haszero" in Sean
 * Anderson's Bit Twiddling Hacks.)
 */
function plainWord(w: u64): bool {
  return needsLook(w) === 0;
}

/** Non-zero when some byte of `w` needs a look (see `plainWord`). */
function needsLook(w: u64): u64 {
  const control = (w - LOW_BITS * 0x20) & ~w;
  const quote = w ^ (LOW_BITS * 0x22);
  const backslash = w ^ (LOW_BITS * 0x5c);
  const special = control | ((quote - LOW_BITS) & ~quote) | ((backslash - LOW_BITS) & ~backslash);
  return (w | special) & HIGH_BITS;
}

/** Four bytes (in the low half of `x`) as four UTF-16 units. */
function widen4(x: u64): u64 {
  const y = ((x & 0xffffffff) | (x << 16)) & WORD_LANES;
  return (y | (y << 8)) & BYTE_LANES;
}

const WORD_LANES: u64 = <u64>0xffff * 0x100000001;
const BYTE_LANES: u64 = <u64>0x00ff00ff * 0x100000001;

/** Writes the `n` ASCII bytes at `src` as UTF-16 units at `dst`. */
function widen(dst: usize, src: usize, n: usize): void {
  let i: usize = 0;
  for (; i + 8 <= n; i += 8) {
    const x = load<u64>(src + i);
    store<u64>(dst + (i << 1), widen4(x));
    store<u64>(dst + (i << 1), widen4(x >> 32), 8);
  }
  for (; i < n; i++) store<u16>(dst + (i << 1), load<u8>(src + i));
}

/** The value of 4 hex digits at `p`, which the scan checked. */
function hexAt(p: usize): u32 {
  let v: u32 = 0;
  for (let i: usize = 0; i < 4; i++) {
    const c = <u32>load<u8>(p + i);
    v = (v << 4) | (c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57);
  }
  return v;
}

/** The UTF-16 unit a one-letter escape stands for (the scan checked the letter). */
function simpleEscape(e: u32): u32 {
  if (e === 0x62) return 0x08;
  if (e === 0x66) return 0x0c;
  if (e === 0x6e) return 0x0a;
  if (e === 0x72) return 0x0d;
  if (e === 0x74) return 0x09;
  return e;
}

/**
 * Writes the string bytes [p, end), which the scan validated, as UTF-16 units at `out`: escapes
 * decoded, UTF-8 sequences decoded, plain words widened.
 */
function decodeChecked(out: usize, p: usize, end: usize): void {
  while (p < end) {
    if (p + 8 <= end && plainWord(load<u64>(p))) {
      const x = load<u64>(p);
      store<u64>(out, widen4(x));
      store<u64>(out, widen4(x >> 32), 8);
      out += 16;
      p += 8;
      continue;
    }
    const c = <u32>load<u8>(p);
    if (c === 0x5c) {
      const e = <u32>load<u8>(p + 1);
      if (e === 0x75) {
        const u = hexAt(p + 2);
        store<u16>(out, u);
        out += 2;
        p += 6;
        if (u >= 0xd800 && u <= 0xdbff) {
          store<u16>(out, hexAt(p + 2));
          out += 2;
          p += 6;
        }
      } else {
        store<u16>(out, simpleEscape(e));
        out += 2;
        p += 2;
      }
    } else if (c < 0x80) {
      store<u16>(out, c);
      out += 2;
      p++;
    } else if (c < 0xe0) {
      store<u16>(out, ((c & 0x1f) << 6) | (<u32>load<u8>(p + 1) & 0x3f));
      out += 2;
      p += 2;
    } else if (c < 0xf0) {
      store<u16>(
        out,
        ((c & 0x0f) << 12) | ((<u32>load<u8>(p + 1) & 0x3f) << 6) | (<u32>load<u8>(p + 2) & 0x3f),
      );
      out += 2;
      p += 3;
    } else {
      const cp =
        (((c & 0x07) << 18) |
          ((<u32>load<u8>(p + 1) & 0x3f) << 12) |
          ((<u32>load<u8>(p + 2) & 0x3f) << 6) |
          (<u32>load<u8>(p + 3) & 0x3f)) -
        0x10000;
      store<u16>(out, 0xd800 + (cp >> 10));
      store<u16>(out, 0xdc00 + (cp & 0x3ff), 2);
      out += 4;
      p += 4;
    }
  }
}

const NULL_VALUE = new JsonValue(JsonKind.Null);
const TRUE_VALUE = new JsonValue(JsonKind.Bool, true);
const FALSE_VALUE = new JsonValue(JsonKind.Bool, false);

const NO_BYTES = new Uint8Array(0);

/** Short plain strings (keys, enum-like values) are looked up here before they are decoded again. */
const SHORT: usize = 16;
const SLOTS = 64;
/**
 * A direct-mapped cache of short plain strings by their bytes (length, two words): repeated keys cost no
 * allocation and no decoding. Strings cannot change, so sharing them is invisible to a reducer; the
 * cache is rooted, so it lives across calls, and holds at most SLOTS strings of SHORT bytes.
 */
const shortStrings = new StaticArray<string>(SLOTS);
const shortWords = new StaticArray<u64>(SLOTS * 2);
const shortLengths = new StaticArray<i32>(SLOTS);
for (let i = 0; i < SLOTS; i++) {
  shortStrings[i] = '';
  shortLengths[i] = -1;
}

/** The low `n` bytes of `w` (n ≤ 8). */
function lowBytes(w: u64, n: usize): u64 {
  return n >= 8 ? w : w & (((<u64>1) << ((<u64>n) << 3)) - 1);
}

/** The string of the `n` ≤ SHORT plain bytes at `src` (16 bytes are readable there), cached or decoded. */
function shortString(src: usize, n: usize): string {
  const w0 = lowBytes(load<u64>(src), n);
  const w1 = n > 8 ? lowBytes(load<u64>(src, 8), n - 8) : 0;
  let x = w0 ^ rotr<u64>(w1, 29) ^ <u64>n;
  x ^= x >> 32;
  const slot = <i32>((<u32>x * 0x9e3779b1) >> 26);
  if (
    unchecked(shortLengths[slot]) === <i32>n &&
    unchecked(shortWords[slot << 1]) === w0 &&
    unchecked(shortWords[(slot << 1) + 1]) === w1
  ) {
    return unchecked(shortStrings[slot]);
  }
  const out = __new(n << 1, idof<string>());
  widen(out, src, n);
  const text = changetype<string>(out);
  shortStrings[slot] = text;
  shortWords[slot << 1] = w0;
  shortWords[(slot << 1) + 1] = w1;
  shortLengths[slot] = <i32>n;
  return text;
}

class Parser {
  pos: i32 = 0;
  error: string | null = null;
  bytes: Uint8Array = NO_BYTES;

  /** Starts on `bytes` (one parser serves every parse: no allocation per call). */
  start(bytes: Uint8Array): void {
    this.bytes = bytes;
    this.pos = 0;
    this.error = null;
  }

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

  /**
   * Checks the escape at `pos` (a backslash) and moves past it: the UTF-16 units it stands for (1, or
   * 2 for a surrogate pair), or 0 once it failed.
   */
  escape(): i32 {
    this.pos++;
    const e = this.peek();
    this.pos++;
    if (e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72)
      return 1;
    if (e === 0x74) return 1;
    if (e !== 0x75) {
      this.pos--;
      this.fail('invalid escape');
      return 0;
    }
    const u = this.hex4();
    if (u < 0) return this.failUnits('invalid \\u escape');
    if (u >= 0xdc00 && u <= 0xdfff) return this.failUnits('lone low surrogate');
    if (u < 0xd800 || u > 0xdbff) return 1;
    if (this.peek() !== 0x5c) return this.failUnits('lone high surrogate');
    this.pos++;
    if (this.peek() !== 0x75) return this.failUnits('lone high surrogate');
    this.pos++;
    const low = this.hex4();
    if (low < 0xdc00 || low > 0xdfff) return this.failUnits('lone high surrogate');
    return 2;
  }

  failUnits(message: string): i32 {
    this.fail(message);
    return 0;
  }

  /** Checks the UTF-8 sequence at `pos` (lead byte `lead` ≥ 0x80) and moves past it: its UTF-16 units, or 0. */
  sequence(lead: i32): i32 {
    const start = this.pos;
    const cp = this.utf8(lead);
    if (cp < 0) {
      this.pos = start;
      return this.failUnits('invalid UTF-8');
    }
    return cp >= 0x10000 ? 2 : 1;
  }

  string(): string | null {
    const base = this.bytes.dataStart;
    const end = <usize>this.bytes.length;
    const start = <usize>this.pos + 1;
    let i = start;
    /** Bytes less UTF-16 units so far: every escape and sequence is longer than what it stands for. */
    let shrink: usize = 0;
    let plain = true;
    while (true) {
      while (i + 16 <= end && (needsLook(load<u64>(base + i)) | needsLook(load<u64>(base + i, 8))) === 0) {
        i += 16;
      }
      while (i + 8 <= end && plainWord(load<u64>(base + i))) i += 8;
      if (i >= end) {
        this.pos = <i32>end;
        return this.failString('unterminated string');
      }
      const c = <i32>load<u8>(base + i);
      if (c === 0x22) break;
      if (c < 0x20) {
        this.pos = <i32>i;
        return this.failString('control character in string');
      }
      if (c < 0x80 && c !== 0x5c) {
        i++;
        continue;
      }
      plain = false;
      this.pos = <i32>i;
      const n = c === 0x5c ? this.escape() : this.sequence(c);
      if (n === 0) return null;
      shrink += <usize>this.pos - i - <usize>n;
      i = <usize>this.pos;
    }
    this.pos = <i32>(i + 1);
    const units = i - start - shrink;
    if (plain && units <= SHORT && start + SHORT <= end) return shortString(base + start, units);
    const out = __new(units << 1, idof<string>());
    if (plain) {
      widen(out, base + start, i - start);
      // The input is the parser's own copy: these bytes stay as they are (utf8-origin.ts invariant 1).
      if (units > SHORT) noteOrigin(out, base + start);
    } else {
      decodeChecked(out, base + start, base + i);
    }
    return changetype<string>(out);
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
