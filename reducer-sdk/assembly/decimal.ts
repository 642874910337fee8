// Correctly rounded decimal → f64 conversion for JSON numbers (AssemblyScript's `parseFloat` can be
// off by an ulp, and every replica must agree with JavaScript's `JSON.parse` to the bit).
// Invariants:
// 1. The result is the f64 nearest to the exact decimal value, ties to even, like JSON.parse.
// 2. Work is bounded whatever the input: at most MAX_DIGITS significant digits take part (the rest
//    collapse into one sticky digit, which cannot change the rounding), and exponents saturate.
// Method: Clinger's fast path when the digits and the power of ten are exact doubles; otherwise start
// from an estimate a few ulps away and move it an ulp at a time, comparing the exact value with the
// midpoints around it in big-integer arithmetic. (AssemblyScript's `parseFloat` cannot be the estimate:
// it returned 9.56e37 for "9.560257528918148e+39".)

const MAX_DIGITS = 800;
const EXPONENT_LIMIT = 100_000;
const MAX_FINITE_BITS: u64 = reinterpret<u64>(f64.MAX_VALUE);

const EXACT_POWERS: StaticArray<f64> = [
  1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
  1e20, 1e21, 1e22,
];

/** Little-endian base-2^32 natural numbers, just what the midpoint comparison needs. */
function mulSmall(a: u32[], k: u32): void {
  let carry: u64 = 0;
  for (let i = 0; i < a.length; i++) {
    const v = <u64>a[i] * k + carry;
    a[i] = <u32>v;
    carry = v >> 32;
  }
  if (carry !== 0) a.push(<u32>carry);
}

function addSmall(a: u32[], k: u32): void {
  let carry: u64 = k;
  for (let i = 0; i < a.length && carry !== 0; i++) {
    const v = <u64>a[i] + carry;
    a[i] = <u32>v;
    carry = v >> 32;
  }
  if (carry !== 0) a.push(<u32>carry);
}

function mulPow10(a: u32[], k: i32): void {
  for (; k >= 9; k -= 9) mulSmall(a, 1_000_000_000);
  if (k > 0) mulSmall(a, <u32>10 ** k);
}

function shiftLeft(a: u32[], bits: i32): void {
  const words = bits >> 5;
  const rest = bits & 31;
  if (rest > 0) {
    let carry: u32 = 0;
    for (let i = 0; i < a.length; i++) {
      const v = a[i];
      a[i] = (v << rest) | carry;
      carry = v >> (32 - rest);
    }
    if (carry !== 0) a.push(carry);
  }
  for (let i = 0; i < words; i++) a.unshift(0);
}

function compare(a: u32[], b: u32[]): i32 {
  let la = a.length;
  let lb = b.length;
  while (la > 0 && a[la - 1] === 0) la--;
  while (lb > 0 && b[lb - 1] === 0) lb--;
  if (la !== lb) return la < lb ? -1 : 1;
  for (let i = la - 1; i >= 0; i--) {
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return 0;
}

function fromU64(x: u64): u32[] {
  const a: u32[] = [<u32>x];
  if (x >> 32 !== 0) a.push(<u32>(x >> 32));
  return a;
}

/** The significant digits (ASCII) and the power of ten they are scaled by. */
class Decimal {
  digits: u8[] = [];
  exponent: i32 = 0;
}

/**
 * Compares digits × 10^exponent with (2m + 1) × 2^(e − 1), the midpoint above m × 2^e.
 */
function compareWithMidpointAbove(x: Decimal, bits: u64): i32 {
  const biased = <i32>(bits >> 52);
  const fraction = bits & 0xfffffffffffff;
  const m = biased === 0 ? fraction : fraction | ((<u64>1) << 52);
  const e = biased === 0 ? -1074 : biased - 1075;
  const left: u32[] = [0];
  for (let i = 0; i < x.digits.length; i++) {
    mulSmall(left, 10);
    addSmall(left, x.digits[i] - 0x30);
  }
  const right = fromU64(2 * m + 1);
  if (x.exponent >= 0) mulPow10(left, x.exponent);
  else mulPow10(right, -x.exponent);
  if (e - 1 >= 0) shiftLeft(right, e - 1);
  else shiftLeft(left, 1 - e);
  return compare(left, right);
}

/** Rounds the positive value `x` to the nearest f64, starting from the estimate `d`. */
function refine(x: Decimal, d: f64): f64 {
  let bits = d === Infinity ? MAX_FINITE_BITS : reinterpret<u64>(d);
  while (true) {
    const above = compareWithMidpointAbove(x, bits);
    if (above > 0 || (above === 0 && (bits & 1) !== 0)) {
      if (bits === MAX_FINITE_BITS) return Infinity;
      bits++;
      continue;
    }
    if (bits > 0) {
      const below = compareWithMidpointAbove(x, bits - 1);
      if (below < 0 || (below === 0 && (bits & 1) !== 0)) {
        bits--;
        continue;
      }
    }
    return reinterpret<f64>(bits);
  }
}

/**
 * Within a few ulps of the value: the first 19 digits times a power of ten, scaled in two steps so
 * that neither step leaves the normal range before the last one.
 */
function estimate(x: Decimal): f64 {
  const n = min(x.digits.length, 19);
  let head: u64 = 0;
  for (let k = 0; k < n; k++) head = head * 10 + <u64>(x.digits[k] - 0x30);
  const scale = x.exponent + (x.digits.length - n);
  if (scale < -290) return <f64>head * 10 ** (scale + 290) * 1e-290;
  if (scale > 290) return <f64>head * 10 ** (scale - 290) * 1e290;
  return <f64>head * 10 ** scale;
}

/** Parses bytes [start, end) that already match JSON's number grammar. */
export function parseJsonNumber(bytes: Uint8Array, start: i32, end: i32): f64 {
  let i = start;
  const negative = bytes[i] === 0x2d;
  if (negative) i++;
  const x = new Decimal();
  let sticky = false;
  let dropped = 0;
  let fractionDigits = 0;
  let inFraction = false;
  for (; i < end; i++) {
    const c = bytes[i];
    if (c === 0x2e) {
      inFraction = true;
      continue;
    }
    if (c === 0x65 || c === 0x45) break;
    if (inFraction) fractionDigits++;
    if (c === 0x30 && x.digits.length === 0) continue;
    if (x.digits.length < MAX_DIGITS) {
      x.digits.push(c);
    } else {
      dropped++;
      if (c !== 0x30) sticky = true;
    }
  }
  let exp = 0;
  if (i < end) {
    i++;
    let sign = 1;
    if (bytes[i] === 0x2d || bytes[i] === 0x2b) {
      if (bytes[i] === 0x2d) sign = -1;
      i++;
    }
    for (; i < end; i++) exp = min(exp * 10 + (bytes[i] - 0x30), EXPONENT_LIMIT);
    exp *= sign;
  }
  x.exponent = dropped - fractionDigits + exp;
  const zero: f64 = negative ? -0.0 : 0.0;
  if (x.digits.length === 0) return zero;
  if (sticky) {
    x.digits.push(0x31);
    x.exponent--;
  }
  const magnitude = x.digits.length + x.exponent;
  if (magnitude > 310) return negative ? -Infinity : Infinity;
  if (magnitude < -324) return zero;
  let value: f64;
  if (x.digits.length <= 15 && x.exponent >= -22 && x.exponent <= 22) {
    let n: f64 = 0;
    for (let k = 0; k < x.digits.length; k++) n = n * 10 + <f64>(x.digits[k] - 0x30);
    value = x.exponent >= 0 ? n * EXACT_POWERS[x.exponent] : n / EXACT_POWERS[-x.exponent];
  } else {
    value = refine(x, estimate(x));
  }
  return negative ? -value : value;
}
