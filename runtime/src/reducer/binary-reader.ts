// A cursor over WebAssembly binary encodings (core and component share LEB128 and names). Every read
// is bounds-checked against the cursor's end; a violation is a `malformed` load error, never a
// RangeError out of a DataView.

import { ReducerLoadError } from './errors.js';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export class BinaryReader {
  readonly bytes: Uint8Array;
  pos: number;
  readonly end: number;
  /** Names the structure being read, for error messages ("core module 2", "component"). */
  readonly what: string;

  constructor(bytes: Uint8Array, what: string, pos = 0, end = bytes.length) {
    this.bytes = bytes;
    this.pos = pos;
    this.end = end;
    this.what = what;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  fail(message: string): never {
    throw new ReducerLoadError('malformed', `${this.what}: ${message} (at byte ${this.pos})`);
  }

  u8(): number {
    if (this.pos >= this.end) this.fail('unexpected end');
    return this.bytes[this.pos++]!;
  }

  /** An unsigned LEB128 of at most 32 bits. */
  u32(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = this.u8();
      if (shift === 28 && byte > 0x0f) this.fail('LEB128 integer too large for u32');
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
    }
    return this.fail('LEB128 integer too long');
  }

  /** An unsigned LEB128 of at most 64 bits, skipped (memory64 limits); returns it when it is exact. */
  u64(): number {
    let result = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      const byte = this.u8();
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
    }
    return this.fail('LEB128 integer too long');
  }

  /** `n` raw bytes, as a view. */
  take(n: number): Uint8Array {
    if (n > this.end - this.pos) this.fail(`needs ${n} bytes, ${this.end - this.pos} left`);
    const view = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return view;
  }

  name(): string {
    const bytes = this.take(this.u32());
    try {
      return strictUtf8.decode(bytes);
    } catch {
      return this.fail('a name is not valid UTF-8');
    }
  }

  /** A reader over the next `size` bytes (a section body); this reader moves past them. */
  section(size: number, what: string): BinaryReader {
    if (size > this.end - this.pos) this.fail(`${what} claims ${size} bytes, ${this.end - this.pos} left`);
    const body = new BinaryReader(this.bytes, `${this.what}, ${what}`, this.pos, this.pos + size);
    this.pos += size;
    return body;
  }
}
