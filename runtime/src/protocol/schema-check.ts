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
const known = new WeakSet<WireSchema>();

/**
 * What is wrong and where: the keys from the value's root, innermost first (pushed on the way out, so a
 * value that passes costs no path strings).
 */
interface Problem {
  readonly keys: (string | number)[];
  readonly what: string;
}

/** Why `value` is outside `schema` ("/a/0/b: what"), or undefined when it is inside (invariant 1). */
export function schemaProblem(schema: WireSchema, value: unknown): string | undefined {
  const problem = find(schema, value);
  if (problem === undefined) return undefined;
  return `/${problem.keys.reverse().join('/')}: ${problem.what}`;
}

const wrong = (what: string): Problem => ({ keys: [], what });

function find(schema: WireSchema, value: unknown): Problem | undefined {
  if (!known.has(schema)) {
    const unknown = Object.keys(schema).filter((keyword) => !KNOWN.has(keyword));
    if (unknown.length > 0) throw new Error(`schema-check: unknown keyword(s) ${unknown.join(', ')}`);
    known.add(schema);
  }
  if (schema.anyOf !== undefined) {
    if (schema.anyOf.some((member) => find(member, value) === undefined)) return undefined;
    return wrong(`matches none of ${schema.anyOf.length} alternatives`);
  }
  if (schema.const !== undefined && value !== schema.const) {
    return wrong(`expected ${JSON.stringify(schema.const)}`);
  }
  switch (schema.type) {
    case 'object':
      return objectProblem(schema, value);
    case 'array':
      return arrayProblem(schema, value);
    case 'string':
      return stringProblem(schema, value);
    case 'integer':
      if (!Number.isInteger(value)) return wrong('expected an integer');
      return rangeProblem(schema, value as number);
    case 'boolean':
      return typeof value === 'boolean' ? undefined : wrong('expected a boolean');
    case 'null':
      return value === null ? undefined : wrong('expected null');
    case 'Uint8Array': {
      if (!(value instanceof Uint8Array)) return wrong('expected bytes');
      if (schema.minByteLength !== undefined && value.length < schema.minByteLength) {
        return wrong(`expected at least ${schema.minByteLength} bytes`);
      }
      if (schema.maxByteLength !== undefined && value.length > schema.maxByteLength) {
        return wrong(`expected at most ${schema.maxByteLength} bytes`);
      }
      return undefined;
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

function objectProblem(schema: WireSchema, value: unknown): Problem | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return wrong('expected an object');
  const object = value as Record<string, unknown>;
  const properties = schema.properties ?? {};
  const required = schema.required ?? [];
  for (const key in properties) {
    // As TypeBox reads them: an optional property is checked unless undefined; a required one always.
    if (object[key] === undefined) {
      if (!required.includes(key)) continue;
      if (!Object.hasOwn(object, key)) return inside(wrong('required'), key);
    }
    const problem = find(properties[key]!, object[key]);
    if (problem !== undefined) return inside(problem, key);
  }
  if (schema.additionalProperties === false) {
    // Own names, enumerable or not: what TypeBox counts.
    const extra = Object.getOwnPropertyNames(object).find((key) => !Object.hasOwn(properties, key));
    if (extra !== undefined) return inside(wrong('not allowed'), extra);
  }
  return undefined;
}

function arrayProblem(schema: WireSchema, value: unknown): Problem | undefined {
  if (!Array.isArray(value)) return wrong('expected an array');
  if (schema.minItems !== undefined && value.length < schema.minItems) {
    return wrong(`expected at least ${schema.minItems} items`);
  }
  if (schema.maxItems !== undefined && value.length > schema.maxItems) {
    return wrong(`expected at most ${schema.maxItems} items`);
  }
  if (schema.items === undefined) return undefined;
  for (let i = 0; i < value.length; i++) {
    const problem = find(schema.items, value[i]);
    if (problem !== undefined) return inside(problem, i);
  }
  return undefined;
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
