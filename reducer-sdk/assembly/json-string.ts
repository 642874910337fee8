// Reading JSON strings over UTF-8 bytes (json.ts invariant 2 says what is accepted). Invariants:
// 1. A string is scanned once over its UTF-8 bytes (eight at a time while they need no look: ASCII with
//    no quote, backslash or control character), which validates it and counts its UTF-16 units, then
//    written once into a string of exactly that length: a plain slice is widened word by word, anything
//    else decoded from the bytes the scan already checked. Error messages and byte offsets are those of
//    a byte-at-a-time decoder.
// 2. Short plain strings may be shared (shortString): a string cannot change, so no reducer can tell.
// 3. Long plain strings are noted with their bytes in the reader's copy of the input (utf8-origin.ts).

import { noteOrigin } from './utf8-origin';

export const NO_BYTES = new Uint8Array(0);

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

/**
 * The input, the position in it and the first failure, and the reading of strings there; the JSON
 * parser (json.ts) reads the rest of the grammar on top of it.
 */
export class StringReader {
  pos: i32 = 0;
  error: string | null = null;
  bytes: Uint8Array = NO_BYTES;

  /** Starts on `bytes` (one reader serves every parse: no allocation per call). */
  start(bytes: Uint8Array): void {
    this.bytes = bytes;
    this.pos = 0;
    this.error = null;
  }

  /** Keeps the first failure, with the byte it happened at. */
  noteFailure(message: string): void {
    if (this.error == null) this.error = `${message} at byte ${this.pos}`;
  }

  failString(message: string): string | null {
    this.noteFailure(message);
    return null;
  }

  peek(): i32 {
    return this.pos < this.bytes.length ? <i32>unchecked(this.bytes[this.pos]) : -1;
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
      this.noteFailure('invalid escape');
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
    this.noteFailure(message);
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
