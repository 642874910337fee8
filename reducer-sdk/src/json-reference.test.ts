// The SDK's JSON decoder against JSON.parse and against the reference decoder (the one before the
// one-pass string scan, test-fixtures/json-reference), both run inside one built reducer: the same
// trees for valid JSON, and for anything else the same error at the same byte.
import fc from 'fast-check';
import { beforeAll, describe, expect, test } from 'vitest';
import { buildFixture, FakeHost, type JcoReducer, jcoBindings, mutation } from './guest.test-helpers.js';

const SEED = Number(process.env.FC_SEED ?? 20_261_205);

let host: FakeHost;
let reducer: JcoReducer;

beforeAll(async () => {
  const instantiate = await jcoBindings((await buildFixture('json-reference')).component);
  host = new FakeHost();
  reducer = await instantiate(host);
});

interface Decoded {
  readonly ours: string;
  readonly oursError: string;
  readonly reference: string;
  readonly referenceError: string;
}

function decode(bytes: Uint8Array): Decoded {
  const before = host.calls.length;
  const [outcome] = host.reduce(reducer, [mutation(bytes)]);
  if (outcome?.tag !== 'ok') throw new Error(`the fixture failed: ${JSON.stringify(outcome)}`);
  const call = host.calls[before];
  if (call?.fn !== 'execute' || host.calls.length !== before + 1)
    throw new Error('expected one decoded call');
  const [ours, oursError, reference, referenceError] = call.params.map((p) =>
    p.tag === 'text' ? p.val : '?',
  ) as [string, string, string, string];
  return { ours, oursError, reference, referenceError };
}

/** The fixture's canonical text of a tree (`show` in test-fixtures/json-reference). */
function show(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') {
    const bits = new DataView(new Float64Array([v]).buffer).getBigUint64(0, true);
    return `n${bits.toString(16)}`;
  }
  if (typeof v === 'string') return `s${v.length}:${v}`;
  if (Array.isArray(v)) return `[${[v.length, ...v.map(show)].join(',')}]`;
  const entries = Object.entries(v as Record<string, unknown>);
  return `{${[entries.length, ...entries.map(([k, x]) => `s${k.length}:${k}=${show(x)}`)].join(',')}}`;
}

const SHORT_ESCAPES: Readonly<Record<string, string>> = {
  '"': '\\"',
  '\\': '\\\\',
  '/': '\\/',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

/** A character of a string: ASCII (quotes, backslashes, controls among it), 2-, 3- and 4-byte UTF-8. */
const char = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) },
  { weight: 2, arbitrary: fc.constantFrom('"', '\\', '/', '\b', '\f', '\n', '\r', '\t', '\u0000', '\u001f') },
  { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0x7ff }).map((c) => String.fromCharCode(c)) },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 0x800, max: 0xfffd })
      .filter((c) => c < 0xd800 || c > 0xdfff)
      .map((c) => String.fromCharCode(c)),
  },
  { weight: 1, arbitrary: fc.integer({ min: 0x10000, max: 0x10ffff }).map((c) => String.fromCodePoint(c)) },
);

/** A string as JSON text: each character raw where JSON allows, or as a short or a \\u escape. */
const jsonString = fc.array(fc.tuple(char, fc.nat(3)), { maxLength: 70 }).map((chars) => {
  const value = chars.map(([c]) => c).join('');
  const text = chars
    .map(([c, how]) => {
      const hex = (i: number) => c.charCodeAt(i).toString(16).padStart(4, '0');
      // An astral character is two units: a surrogate pair of escapes.
      const units = Array.from(
        { length: c.length },
        (_, i) => `\\u${how === 2 ? hex(i).toUpperCase() : hex(i)}`,
      );
      const short = SHORT_ESCAPES[c];
      const raw = c !== '"' && c !== '\\' && c >= ' ';
      if (how === 0 && raw) return c;
      if (how === 1 && short !== undefined) return short;
      return units.join('');
    })
    .join('');
  return { value, text: `"${text}"` };
});

/** Numbers at the edges: extremes, subnormals, integers around 2^53, negative zero, long mantissas. */
const jsonNumber = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => ({ value: d, text: JSON.stringify(d) })),
  fc
    .constantFrom(
      '-0',
      '0',
      '9007199254740991',
      '9007199254740993',
      '-9007199254740993',
      '1.7976931348623157e308',
      '1.7976931348623159e308',
      '5e-324',
      '2.4703282292062328e-324',
      '2.2250738585072014e-308',
      '1e400',
      '-1e-400',
      '0.30000000000000004441',
    )
    .map((text) => ({ value: JSON.parse(text) as number, text })),
);

interface Json {
  readonly value: unknown;
  readonly text: string;
}

const space = fc.constantFrom('', ' ', '\n', '\t ', '\r\n');

const { json: jsonText } = fc.letrec<{ json: Json }>((tie) => ({
  json: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    jsonString,
    jsonNumber,
    fc.constantFrom<Json>(
      { value: true, text: 'true' },
      { value: false, text: 'false' },
      { value: null, text: 'null' },
    ),
    fc.tuple(fc.array(tie('json'), { maxLength: 5 }), space).map(([items, s]) => ({
      value: items.map((i) => i.value),
      text: `[${s}${items.map((i) => i.text).join(`${s},${s}`)}${s}]`,
    })),
    fc.tuple(fc.array(fc.tuple(jsonString, tie('json')), { maxLength: 5 }), space).map(([entries, s]) => {
      // Keys that JavaScript would not reorder (integer-like keys come first in its objects).
      const keyed = entries.map(([k, v]) => ({ key: `k${k.value}`, text: `"k${k.text.slice(1)}`, v }));
      const value: Record<string, unknown> = {};
      for (const { key, v } of keyed) value[key] = v.value;
      return {
        value,
        text: `{${s}${keyed.map(({ text, v }) => `${text}${s}:${s}${v.text}`).join(`${s},${s}`)}${s}}`,
      };
    }),
  ),
}));

const encoder = new TextEncoder();

describe('json decoder against JSON.parse and the reference decoder', () => {
  test('valid JSON (escaped and raw unicode strings of every length, nesting, edge numbers) decodes as JSON.parse does', () => {
    fc.assert(
      fc.property(jsonText, ({ text }) => {
        const decoded = decode(encoder.encode(text));
        expect(decoded.oursError).toBe('');
        expect(decoded.ours).toBe(show(JSON.parse(text)));
        expect(decoded.reference).toBe(decoded.ours);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  test('damaged JSON is refused with the same error at the same byte as before, and what still parses is the same', () => {
    const edit = fc.record({
      at: fc.nat(),
      op: fc.constantFrom('insert', 'delete', 'replace', 'cut'),
      byte: fc.oneof(
        fc.constantFrom(...encoder.encode('"\\u{}[],:0123456789abcdefABCDEF.eE+-ntfl /')),
        fc.integer({ min: 0, max: 0x1f }),
        fc.integer({ min: 0x80, max: 0xff }),
      ),
    });
    fc.assert(
      fc.property(jsonText, fc.array(edit, { minLength: 1, maxLength: 3 }), ({ text }, edits) => {
        let bytes = [...encoder.encode(text)];
        for (const { at, op, byte } of edits) {
          const i = bytes.length === 0 ? 0 : at % (bytes.length + (op === 'insert' ? 1 : 0));
          if (op === 'insert') bytes.splice(i, 0, byte);
          else if (op === 'delete') bytes.splice(i, 1);
          else if (op === 'replace') bytes[i] = byte;
          else bytes = bytes.slice(0, i);
        }
        const decoded = decode(Uint8Array.from(bytes));
        expect(decoded.oursError).toBe(decoded.referenceError);
        expect(decoded.ours).toBe(decoded.reference);
      }),
      { seed: SEED, numRuns: 600 },
    );
  });

  test('a long string around a failure is refused at the same byte: every byte value after 20 plain ones', () => {
    for (let b = 0; b < 256; b++) {
      for (const tail of [[], [0x22], [0x41, 0x22], [0x80, 0x22], [0x75, 0x31, 0x22]]) {
        const bytes = Uint8Array.from([0x22, ...encoder.encode('a'.repeat(20)), 0x5c, b, ...tail]);
        const raw = Uint8Array.from([0x22, ...encoder.encode('a'.repeat(20)), b, ...tail]);
        for (const input of [bytes, raw]) {
          const decoded = decode(input);
          expect(decoded.oursError).toBe(decoded.referenceError);
          expect(decoded.ours).toBe(decoded.reference);
        }
      }
    }
  });
});
