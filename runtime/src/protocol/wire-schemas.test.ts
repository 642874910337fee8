import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { CLIENT_MESSAGES, SERVER_MESSAGES } from './messages.js';
import { schemaProblem, type WireSchema } from './schema-check.js';
import { WIRE_SCHEMAS } from './wire-schemas.js';

const SEED = Number(
  (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.FC_SEED ?? 1019,
);
const MESSAGES: Readonly<Record<string, TSchema>> = { ...CLIENT_MESSAGES, ...SERVER_MESSAGES };

/** wire-schemas.ts as generated from the message schemas. */
function wireSchemasSource(): string {
  return [
    '// Generated from the message schemas (messages.ts) by wire-schemas.test.ts: do not edit; after a schema',
    '// change, `npx vitest run runtime/src/protocol/wire-schemas.test.ts -u` writes it again. The codec checks',
    '// messages against this plain data (schema-check.ts), so that decoding loads no schema library.',
    "import type { WireSchema } from './schema-check.js';",
    '',
    '// biome-ignore format: generated',
    `export const WIRE_SCHEMAS: Readonly<Record<string, WireSchema>> = ${JSON.stringify(MESSAGES, null, 2)};`,
    '',
  ].join('\n');
}

test('wire-schemas.ts is the JSON form of the message schemas (regenerated with -u)', async () => {
  await expect(wireSchemasSource()).toMatchFileSnapshot('./wire-schemas.ts');
  expect(WIRE_SCHEMAS).toEqual(JSON.parse(JSON.stringify(MESSAGES)));
});

// Values near each schema: mostly inside it, each part sometimes just outside (a bound crossed by
// one, a wrong type, a key missing or added), so both verdicts and every keyword are exercised.
const outsiders = fc.constantFrom<unknown>(
  undefined,
  null,
  0,
  -0,
  0.5,
  Number.NaN,
  '',
  '1',
  true,
  [],
  {},
  1n,
);
const loneSurrogates = fc.constantFrom('\uD800', 'a\uDC00', '\uDBFF\uDBFF', '\uDC00\uD800');

function near(schema: WireSchema): fc.Arbitrary<unknown> {
  const inside = nearInside(schema);
  return fc.oneof({ arbitrary: inside, weight: 30 }, { arbitrary: outsiders, weight: 1 });
}

function nearInside(schema: WireSchema): fc.Arbitrary<unknown> {
  if (schema.anyOf !== undefined) return fc.oneof(...schema.anyOf.map(near));
  if (schema.const !== undefined) {
    const value = schema.const;
    return fc.oneof(
      { arbitrary: fc.constant(value), weight: 10 },
      { arbitrary: fc.constant(`${String(value)}x`), weight: 1 },
    );
  }
  switch (schema.type) {
    case 'object': {
      const properties = schema.properties ?? {};
      const record = fc.record(
        Object.fromEntries(Object.entries(properties).map(([key, value]) => [key, near(value)])),
      );
      return fc
        .tuple(record, fc.nat(20), fc.constantFrom('extra', 'constructor', 'toString'))
        .map(([object, change, extra]) => {
          const copy: Record<string, unknown> = { ...object };
          const keys = Object.keys(copy);
          if (change === 0 && keys.length > 0) delete copy[keys[0]!];
          if (change === 1) copy[extra] = 1;
          if (change === 2 && keys.length > 0) copy[keys.at(-1)!] = undefined;
          return copy;
        });
    }
    case 'array': {
      const items = schema.items === undefined ? fc.anything() : near(schema.items);
      const min = schema.minItems ?? 0;
      const max = schema.maxItems ?? 4;
      const few = fc.array(items, { minLength: Math.max(0, min - 1), maxLength: Math.min(max + 1, min + 3) });
      // At the upper bound only where it is cheap to build (a frame's 65,536 pages are not).
      if (max > 1000) return few;
      return fc.oneof(
        { arbitrary: few, weight: 10 },
        { arbitrary: items.map((item) => Array.from({ length: max + 1 }, () => item)), weight: 1 },
        { arbitrary: items.map((item) => Array.from({ length: max }, () => item)), weight: 1 },
      );
    }
    case 'string': {
      const min = schema.minLength ?? 0;
      const max = schema.maxLength ?? 64;
      const shaped =
        schema.pattern === undefined
          ? fc.string({ minLength: Math.max(0, min - 1), maxLength: Math.min(max + 1, min + 40) })
          : fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length <= max + 1);
      return fc.oneof(
        { arbitrary: shaped, weight: 10 },
        {
          arbitrary: fc.constantFrom('a'.repeat(max), 'a'.repeat(max + 1), 'a'.repeat(Math.max(0, min - 1))),
          weight: 2,
        },
        { arbitrary: loneSurrogates, weight: 1 },
        { arbitrary: fc.string({ unit: 'binary', maxLength: 20 }), weight: 1 },
      );
    }
    case 'integer': {
      const min = schema.minimum ?? -(2 ** 31);
      const max = schema.maximum ?? 2 ** 31;
      return fc.oneof(
        {
          arbitrary: fc.integer({ min: Math.max(min - 2, -(2 ** 31)), max: Math.min(max, min + 1000) }),
          weight: 8,
        },
        {
          arbitrary: fc.constantFrom(
            min,
            max,
            min - 1,
            max + 1,
            max + 0.5,
            2 ** 53,
            Number.POSITIVE_INFINITY,
          ),
          weight: 3,
        },
        { arbitrary: fc.double(), weight: 1 },
        { arbitrary: fc.bigInt({ min: 0n, max: 10n }), weight: 1 },
      );
    }
    case 'boolean':
      return fc.oneof(
        { arbitrary: fc.boolean(), weight: 10 },
        { arbitrary: fc.constantFrom(0, 1, 'true'), weight: 1 },
      );
    case 'null':
      return fc.oneof(
        { arbitrary: fc.constant(null), weight: 10 },
        { arbitrary: fc.constant(undefined), weight: 1 },
      );
    case 'Uint8Array': {
      const min = schema.minByteLength ?? 0;
      const max = schema.maxByteLength ?? 64;
      // Lengths at the bounds; a bound of megabytes is crossed only where it is cheap to allocate.
      const lengths = [min, Math.max(0, min - 1), min + 1, ...(max <= 2 ** 21 ? [max, max + 1] : [])];
      return fc.oneof(
        { arbitrary: fc.uint8Array({ minLength: min, maxLength: Math.min(max, min + 40) }), weight: 10 },
        { arbitrary: fc.constantFrom(...lengths).map((n) => new Uint8Array(n)), weight: 2 },
        {
          arbitrary: fc.constantFrom<unknown>(
            new Uint16Array(2),
            [1, 2],
            new ArrayBuffer(2),
            Buffer.from([1]),
          ),
          weight: 1,
        },
      );
    }
    default:
      throw new Error(`no arbitrary for ${JSON.stringify(schema)}`);
  }
}

describe.each(Object.keys(MESSAGES))('the %s message', (type) => {
  test('schema-check accepts exactly what TypeBox accepts, and names a place when it refuses', () => {
    const typebox = MESSAGES[type]!;
    const wire = WIRE_SCHEMAS[type]!;
    const verdicts = { inside: 0, outside: 0 };
    fc.assert(
      fc.property(near(wire), (value) => {
        const problem = schemaProblem(wire, value);
        expect(problem === undefined).toBe(Value.Check(typebox, value));
        if (problem !== undefined) expect(problem).toMatch(/^\/[^:]*: ./);
        verdicts[problem === undefined ? 'inside' : 'outside']++;
      }),
      { seed: SEED, numRuns: 1500 },
    );
    // Both verdicts were reached: a generator that only made one kind would prove nothing.
    expect(verdicts.inside).toBeGreaterThan(20);
    expect(verdicts.outside).toBeGreaterThan(20);
  });
});

test('a schema with a keyword schema-check does not know is refused, not passed', () => {
  expect(() => schemaProblem({ type: 'string', format: 'email' } as WireSchema, 'a')).toThrow(/format/);
});
