// The AssemblyScript JSON decoder, run inside a built reducer (test-fixtures/probe) and compared
// with JavaScript's JSON.parse.
import fc from 'fast-check';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  buildFixture,
  FakeHost,
  type JcoReducer,
  jcoBindings,
  mutation,
  type SqlValue,
} from './guest.test-helpers.js';

const SEED = Number(process.env.FC_SEED ?? 20_260_711);

type Node = [path: string, kind: number, value: SqlValue];

let host: FakeHost;
let reducer: JcoReducer;

beforeAll(async () => {
  const instantiate = await jcoBindings((await buildFixture('probe')).component);
  host = new FakeHost();
  reducer = await instantiate(host);
});

/** Decodes `input` in the guest: its tree as (path, kind, value) nodes, or its rejection. */
function decode(input: string | Uint8Array): Node[] | string {
  const bytes = typeof input === 'string' ? new TextEncoder().encode(input) : input;
  const payload = new Uint8Array([...new TextEncoder().encode('json:'), ...bytes]);
  const before = host.calls.length;
  const [outcome] = host.reduce(reducer, [mutation(payload)]);
  if (outcome?.tag === 'err') return outcome.val;
  return host.calls.slice(before).map((c): Node => {
    if (c.fn !== 'execute') throw new Error(`unexpected ${c.fn}`);
    const [path, kind, value] = c.params;
    if (path?.tag !== 'text' || kind?.tag !== 'integer' || value === undefined) throw new Error('bad node');
    return [path.val, Number(kind.val), value];
  });
}

/** The same tree, from JSON.parse. */
function expected(v: unknown, path = ''): Node[] {
  if (v === null) return [[path, 0, { tag: 'null' }]];
  if (typeof v === 'boolean') return [[path, 1, { tag: 'integer', val: v ? 1n : 0n }]];
  if (typeof v === 'number') return [[path, 2, { tag: 'real', val: v }]];
  if (typeof v === 'string') return [[path, 3, { tag: 'text', val: v }]];
  if (Array.isArray(v)) {
    return [
      [path, 4, { tag: 'integer', val: BigInt(v.length) }],
      ...v.flatMap((x, i) => expected(x, `${path}/${i}`)),
    ];
  }
  const entries = Object.entries(v as Record<string, unknown>);
  return [
    [path, 5, { tag: 'integer', val: BigInt(entries.length) }],
    ...entries.flatMap(([k, x]) => expected(x, `${path}/${k}`)),
  ];
}

/** Every non-ASCII character as a \u escape (astral ones as surrogate pairs). */
function asciiEscaped(text: string): string {
  return text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

describe('json decoder', () => {
  test('decodes any JSON text exactly as JSON.parse does (compact, indented, ASCII-escaped)', () => {
    const arb = fc.record({
      value: fc.jsonValue({ stringUnit: 'grapheme', maxDepth: 6 }),
      style: fc.constantFrom('compact', 'indented', 'ascii'),
    });
    fc.assert(
      fc.property(arb, ({ value, style }) => {
        const compact = JSON.stringify(value);
        const text =
          style === 'indented'
            ? JSON.stringify(value, null, 2)
            : style === 'ascii'
              ? asciiEscaped(compact)
              : compact;
        expect(decode(text)).toEqual(expected(JSON.parse(text)));
      }),
      { seed: SEED, numRuns: 150 },
    );
  });

  test('numbers round to the same double as JSON.parse, bit for bit', () => {
    const digits = (min: number, max: number) =>
      fc.array(fc.constantFrom(...'0123456789'), { minLength: min, maxLength: max }).map((d) => d.join(''));
    const literal = fc
      .tuple(
        fc.constantFrom('', '-'),
        fc.oneof(
          fc.constant('0'),
          fc.tuple(fc.constantFrom(...'123456789'), digits(0, 30)).map(([h, t]) => h + t),
        ),
        fc.option(
          digits(1, 30).map((f) => `.${f}`),
          { nil: '' },
        ),
        fc.option(fc.tuple(fc.constantFrom('e', 'E', 'e+', 'e-'), fc.integer({ min: 0, max: 400 })), {
          nil: undefined,
        }),
      )
      .map(
        ([sign, int, frac, exp]) => `${sign}${int}${frac}${exp === undefined ? '' : `${exp[0]}${exp[1]}`}`,
      );
    const shortest = fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d));
    fc.assert(
      fc.property(fc.oneof(literal, shortest), (text) => {
        expect(decode(`[${text}]`)).toEqual(expected(JSON.parse(`[${text}]`)));
      }),
      { seed: SEED, numRuns: 400 },
    );
  });

  test('accepts exactly what JSON.parse accepts over a JSON-ish alphabet, and never traps', () => {
    const alphabet = [...'{}[]",:0123456789.eE+- \n\ttrufalsn\\/bu'];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...alphabet), { maxLength: 24 }), (chars) => {
        const text = chars.join('');
        let parsed: unknown;
        let valid = true;
        try {
          parsed = JSON.parse(text);
        } catch {
          valid = false;
        }
        const got = decode(text);
        if (valid) expect(got).toEqual(expected(parsed));
        else expect(got).toEqual(expect.stringMatching(/^invalid: /));
      }),
      { seed: SEED, numRuns: 400 },
    );
  });

  test.each([
    ['empty input', ''],
    ['whitespace only', ' \n'],
    ['an unclosed object', '{'],
    ['a trailing comma in an array', '[1,]'],
    ['a trailing comma in an object', '{"a":1,}'],
    ['a leading zero', '01'],
    ['a bare decimal point', '1.'],
    ['a missing integer part', '.5'],
    ['a plus sign', '+1'],
    ['a lone minus', '-'],
    ['an empty exponent', '1e+'],
    ['a truncated literal', 'tru'],
    ['NaN', 'NaN'],
    ['Infinity', 'Infinity'],
    ['an unterminated string', '"abc'],
    ['an unknown escape', '"\\x"'],
    ['a short \\u escape', '"\\u12"'],
    ['a lone high surrogate', '"\\ud800"'],
    ['a lone low surrogate', '"\\udc00"'],
    ['a high surrogate followed by a non-surrogate', '"\\ud800\\u0041"'],
    ['a raw newline in a string', '"a\nb"'],
    ['a raw tab in a string', '"\t"'],
    ['a missing colon', '{"a" 1}'],
    ['a non-string key', '{1:2}'],
    ['single quotes', "'a'"],
    ['trailing garbage', '[1] x'],
    ['two values', '1 2'],
    ['an extra closing bracket', '[1]]'],
    ['a byte order mark', '\ufeff1'],
    ['nesting deeper than 64', `${'['.repeat(65)}${']'.repeat(65)}`],
  ])('rejects %s', (_, text) => {
    expect(decode(text)).toEqual(expect.stringMatching(/^invalid: .* at byte \d+$/));
  });

  test.each([
    ['an invalid byte', [0x22, 0xff, 0x22]],
    ['an overlong encoding', [0x22, 0xc0, 0xaf, 0x22]],
    ['an encoded surrogate', [0x22, 0xed, 0xa0, 0x80, 0x22]],
    ['a truncated sequence', [0x22, 0xe2, 0x82, 0x22]],
    ['a code point above U+10FFFF', [0x22, 0xf4, 0x90, 0x80, 0x80, 0x22]],
    ['a lone continuation byte', [0x22, 0x80, 0x22]],
  ])('rejects invalid UTF-8: %s', (_, bytes) => {
    expect(decode(Uint8Array.from(bytes))).toEqual(expect.stringMatching(/^invalid: invalid UTF-8/));
  });

  test.each([
    ['surrounding whitespace', ' \t\n 1 \r\n'],
    ['an escaped surrogate pair', '"\\ud83c\\udf0d"'],
    ['every simple escape', '"\\"\\\\\\/\\b\\f\\n\\r\\t"'],
    ['negative zero', '-0'],
    ['an exponent', '1E+2'],
    ['an overflowing number', '1e400'],
    ['the smallest subnormal', '5e-324'],
    ['a long mantissa', '0.30000000000000004441'],
    ['a halfway case that rounds to even', '9007199254740993'],
    ['a halfway case decided by a far digit', '9007199254740993.0000000000000000000000000000001'],
    ['the largest double', '1.7976931348623157e308'],
    ['just past the largest double', '1.7976931348623159e308'],
    ['the smallest normal', '2.2250738585072014e-308'],
    ['just under half the smallest subnormal', '2.4703282292062327e-324'],
    ['just over half the smallest subnormal', '2.4703282292062328e-324'],
    ['a thousand digits', `0.${'3'.repeat(1000)}`],
    ['a huge exponent', '1e99999999999'],
    ['a tiny exponent', '1e-99999999999'],
    ['nesting exactly 64 deep', `${'['.repeat(64)}${']'.repeat(64)}`],
    ['raw UTF-8 keys and values', '{"ключ":"値 🌍","é":[true,false,null]}'],
    ['a duplicate key (the last wins)', '{"a":1,"b":2,"a":3}'],
  ])('accepts %s like JSON.parse', (_, text) => {
    expect(decode(text)).toEqual(expected(JSON.parse(text)));
  });

  test('typed accessors return the value, or null/NaN/false when absent or of another type', () => {
    const accessors = (text: string) => {
      host.reduce(reducer, [mutation(`accessors:${text}`)]);
      const call = host.calls.at(-1);
      return call?.fn === 'execute' ? call.params : [];
    };
    const t = (val: boolean): SqlValue => ({ tag: 'integer', val: val ? 1n : 0n });
    expect(accessors('{"s":"x","n":3,"b":true,"o":{},"a":[],"z":null}')).toEqual([
      { tag: 'text', val: 'x' },
      { tag: 'real', val: 3 },
      t(true),
      t(true),
      t(true),
      t(true),
      t(true),
    ]);
    expect(accessors('{"s":1,"n":"3","b":1,"o":[],"a":{}}')).toEqual([
      { tag: 'null' },
      { tag: 'real', val: Number.NaN },
      t(false),
      t(false),
      t(false),
      t(false),
      t(false),
    ]);
  });
});
