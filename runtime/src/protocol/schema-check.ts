// Checks a value against a message schema given as plain JSON Schema data (wire-schemas.ts), without a
// schema library: decoding a message must not cost a process the import of TypeBox (about 250 modules,
// ~150 ms of a syncing document's boot in Node). It reads exactly the keywords the protocol's TypeBox
// schemas emit (wire-schemas.test.ts lists them) and answers as TypeBox's Value.Check does:
// wire-schemas.test.ts holds the two equal on generated messages and their corruptions (fast-check).
//
// Invariants:
// 1. `schemaProblem` is undefined exactly when TypeBox's Value.Check accepts the value under the same
//    schema; otherwise it names the first place (a JSON pointer) and what is wrong there. A value that
//    passes allocates nothing for paths: decoding checks every page of every frame.
// 2. A keyword this module does not know is a thrown Error at the first check, never a silent pass: a
//    schema change that brings a new keyword fails every decode test until it is taught here.

/** The JSON Schema keywords the protocol's schemas use (TypeBox's JSON form, symbols dropped). */
export interface WireSchema {
  readonly type?: 'object' | 'array' | 'string' | 'integer' | 'boolean' | 'null' | 'Uint8Array';
  readonly properties?: { readonly [key: string]: WireSchema };
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean;
  readonly items?: WireSchema;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly anyOf?: readonly WireSchema[];
  readonly const?: string | number | boolean;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: string;
  readonly minByteLength?: number;
  readonly maxByteLength?: number;
}

const KNOWN = new Set([
  'type',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'minItems',
  'maxItems',
  'anyOf',
  'const',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'pattern',
  'minByteLength',
  'maxByteLength',
]);

/** Each pattern compiled once, as TypeBox compiles it (no flags). */
const patterns = new Map<string, RegExp>();

/**
 * What is wrong and where: the keys from the value's root, innermost first (pushed on the way out, so a
 * value that passes costs no path strings).
 */
interface Problem {
  readonly keys: (string | number)[];
  readonly what: string;
}

/** A schema turned into a function of the value (compiled once: decoding checks every page of every frame). */
type Check = (value: unknown) => Problem | undefined;
const compiled = new WeakMap<WireSchema, Check>();

/** Why `value` is outside `schema` ("/a/0/b: what"), or undefined when it is inside (invariant 1). */
export function schemaProblem(schema: WireSchema, value: unknown): string | undefined {
  const problem = checkOf(schema)(value);
  if (problem === undefined) return undefined;
  return `/${problem.keys.reverse().join('/')}: ${problem.what}`;
}

const wrong = (what: string): Problem => ({ keys: [], what });

/** `schema`'s check, and those of the schemas inside it, made at its first use (invariant 2 throws there). */
function checkOf(schema: WireSchema): Check {
  let check = compiled.get(schema);
  if (check === undefined) {
    const unknown = Object.keys(schema).filter((keyword) => !KNOWN.has(keyword));
    if (unknown.length > 0) throw new Error(`schema-check: unknown keyword(s) ${unknown.join(', ')}`);
    check = compile(schema);
    compiled.set(schema, check);
  }
  return check;
}

function compile(schema: WireSchema): Check {
  if (schema.anyOf !== undefined) {
    const members = schema.anyOf.map(checkOf);
    const none = `matches none of ${members.length} alternatives`;
    return (value) => (members.some((member) => member(value) === undefined) ? undefined : wrong(none));
  }
  const typed = typeCheck(schema);
  const expected = schema.const;
  if (expected === undefined) return typed;
  const not = `expected ${JSON.stringify(expected)}`;
  return (value) => (value !== expected ? wrong(not) : typed(value));
}

function typeCheck(schema: WireSchema): Check {
  switch (schema.type) {
    case 'object':
      return objectCheck(schema);
    case 'array':
      return arrayCheck(schema);
    case 'string':
      return (value) => stringProblem(schema, value);
    case 'integer':
      return (value) =>
        Number.isInteger(value) ? rangeProblem(schema, value as number) : wrong('expected an integer');
    case 'boolean':
      return (value) => (typeof value === 'boolean' ? undefined : wrong('expected a boolean'));
    case 'null':
      return (value) => (value === null ? undefined : wrong('expected null'));
    case 'Uint8Array': {
      const { minByteLength: min, maxByteLength: max } = schema;
      return (value) => {
        if (!(value instanceof Uint8Array)) return wrong('expected bytes');
        if (min !== undefined && value.length < min) return wrong(`expected at least ${min} bytes`);
        if (max !== undefined && value.length > max) return wrong(`expected at most ${max} bytes`);
        return undefined;
      };
    }
    default:
      throw new Error('schema-check: a schema without a known type');
  }
}

/** `problem`, one level further out (at `key`). */
function inside(problem: Problem | undefined, key: string | number): Problem | undefined {
  problem?.keys.push(key);
  return problem;
}

function objectCheck(schema: WireSchema): Check {
  const properties = schema.properties ?? {};
  const required = schema.required ?? [];
  const keys = Object.keys(properties);
  const checks = keys.map((key) => checkOf(properties[key]!));
  const needed = keys.map((key) => required.includes(key));
  const closed = schema.additionalProperties === false;
  return (value) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      return wrong('expected an object');
    const object = value as Record<string, unknown>;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const property = object[key];
      // As TypeBox reads them: an optional property is checked unless undefined; a required one always.
      if (property === undefined) {
        if (!needed[i]) continue;
        if (!Object.hasOwn(object, key)) return inside(wrong('required'), key);
      }
      const problem = checks[i]!(property);
      if (problem !== undefined) return inside(problem, key);
    }
    if (closed) {
      // Own names, enumerable or not: what TypeBox counts.
      for (const key of Object.getOwnPropertyNames(object)) {
        if (!Object.hasOwn(properties, key)) return inside(wrong('not allowed'), key);
      }
    }
    return undefined;
  };
}

function arrayCheck(schema: WireSchema): Check {
  const { minItems, maxItems } = schema;
  const items = schema.items === undefined ? undefined : checkOf(schema.items);
  return (value) => {
    if (!Array.isArray(value)) return wrong('expected an array');
    if (minItems !== undefined && value.length < minItems)
      return wrong(`expected at least ${minItems} items`);
    if (maxItems !== undefined && value.length > maxItems) return wrong(`expected at most ${maxItems} items`);
    if (items === undefined) return undefined;
    for (let i = 0; i < value.length; i++) {
      const problem = items(value[i]);
      if (problem !== undefined) return inside(problem, i);
    }
    return undefined;
  };
}

function stringProblem(schema: WireSchema, value: unknown): Problem | undefined {
  if (typeof value !== 'string') return wrong('expected a string');
  if (schema.minLength !== undefined && value.length < schema.minLength) {
    return wrong(`expected at least ${schema.minLength} characters`);
  }
  if (schema.maxLength !== undefined && value.length > schema.maxLength) {
    return wrong(`expected at most ${schema.maxLength} characters`);
  }
  if (schema.pattern !== undefined) {
    let pattern = patterns.get(schema.pattern);
    if (pattern === undefined) {
      pattern = new RegExp(schema.pattern);
      patterns.set(schema.pattern, pattern);
    }
    if (!pattern.test(value)) return wrong(`does not match ${schema.pattern}`);
  }
  return undefined;
}

function rangeProblem(schema: WireSchema, value: number): Problem | undefined {
  if (schema.minimum !== undefined && value < schema.minimum)
    return wrong(`expected at least ${schema.minimum}`);
  if (schema.maximum !== undefined && value > schema.maximum)
    return wrong(`expected at most ${schema.maximum}`);
  return undefined;
}
