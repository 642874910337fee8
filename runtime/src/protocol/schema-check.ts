// Checks a value against a message schema given as plain JSON Schema data (wire-schemas.ts), without a
// schema library: decoding a message must not cost a process the import of TypeBox (about 250 modules,
// ~150 ms of a syncing document's boot in Node). It reads exactly the keywords the protocol's TypeBox
// schemas emit (wire-schemas.test.ts lists them) and answers as TypeBox's Value.Check does:
// wire-schemas.test.ts holds the two equal on generated messages and their corruptions (fast-check).
//
// Invariants:
// 1. `schemaProblem` is undefined exactly when TypeBox's Value.Check accepts the value under the same
//    schema; otherwise it names the first place (a JSON pointer) and what is wrong there.
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

/** Why `value` is outside `schema` (`path`: where it sits), or undefined when it is inside (invariant 1). */
export function schemaProblem(schema: WireSchema, value: unknown, path = ''): string | undefined {
  if (!known.has(schema)) {
    const unknown = Object.keys(schema).filter((keyword) => !KNOWN.has(keyword));
    if (unknown.length > 0) throw new Error(`schema-check: unknown keyword(s) ${unknown.join(', ')}`);
    known.add(schema);
  }
  const at = path || '/';
  if (schema.anyOf !== undefined) {
    if (schema.anyOf.some((member) => schemaProblem(member, value, path) === undefined)) return undefined;
    return `${at}: matches none of ${schema.anyOf.length} alternatives`;
  }
  if (schema.const !== undefined && value !== schema.const) {
    return `${at}: expected ${JSON.stringify(schema.const)}`;
  }
  switch (schema.type) {
    case 'object':
      return objectProblem(schema, value, path);
    case 'array':
      return arrayProblem(schema, value, path);
    case 'string':
      return stringProblem(schema, value, at);
    case 'integer':
      if (!Number.isInteger(value)) return `${at}: expected an integer`;
      return rangeProblem(schema, value as number, at);
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `${at}: expected a boolean`;
    case 'null':
      return value === null ? undefined : `${at}: expected null`;
    case 'Uint8Array': {
      if (!(value instanceof Uint8Array)) return `${at}: expected bytes`;
      if (schema.minByteLength !== undefined && value.length < schema.minByteLength) {
        return `${at}: expected at least ${schema.minByteLength} bytes`;
      }
      if (schema.maxByteLength !== undefined && value.length > schema.maxByteLength) {
        return `${at}: expected at most ${schema.maxByteLength} bytes`;
      }
      return undefined;
    }
    default:
      throw new Error(`schema-check: a schema without a known type at ${at}`);
  }
}

function objectProblem(schema: WireSchema, value: unknown, path: string): string | undefined {
  const at = path || '/';
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `${at}: expected an object`;
  const object = value as Record<string, unknown>;
  const properties = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  for (const key of Object.keys(properties)) {
    // As TypeBox reads them: an optional property is checked unless undefined; a required one always.
    if (object[key] === undefined && !required.has(key)) continue;
    const inside = `${path}/${key}`;
    if (object[key] === undefined && !Object.hasOwn(object, key)) return `${inside}: required`;
    const problem = schemaProblem(properties[key]!, object[key], inside);
    if (problem !== undefined) return problem;
  }
  if (schema.additionalProperties === false) {
    // Own names, enumerable or not: what TypeBox counts.
    const extra = Object.getOwnPropertyNames(object).find((key) => !Object.hasOwn(properties, key));
    if (extra !== undefined) return `${path}/${extra}: not allowed`;
  }
  return undefined;
}

function arrayProblem(schema: WireSchema, value: unknown, path: string): string | undefined {
  const at = path || '/';
  if (!Array.isArray(value)) return `${at}: expected an array`;
  if (schema.minItems !== undefined && value.length < schema.minItems) {
    return `${at}: expected at least ${schema.minItems} items`;
  }
  if (schema.maxItems !== undefined && value.length > schema.maxItems) {
    return `${at}: expected at most ${schema.maxItems} items`;
  }
  if (schema.items === undefined) return undefined;
  for (let i = 0; i < value.length; i++) {
    const problem = schemaProblem(schema.items, value[i], `${path}/${i}`);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function stringProblem(schema: WireSchema, value: unknown, at: string): string | undefined {
  if (typeof value !== 'string') return `${at}: expected a string`;
  if (schema.minLength !== undefined && value.length < schema.minLength) {
    return `${at}: expected at least ${schema.minLength} characters`;
  }
  if (schema.maxLength !== undefined && value.length > schema.maxLength) {
    return `${at}: expected at most ${schema.maxLength} characters`;
  }
  if (schema.pattern !== undefined) {
    let pattern = patterns.get(schema.pattern);
    if (pattern === undefined) {
      pattern = new RegExp(schema.pattern);
      patterns.set(schema.pattern, pattern);
    }
    if (!pattern.test(value)) return `${at}: does not match ${schema.pattern}`;
  }
  return undefined;
}

function rangeProblem(schema: WireSchema, value: number, at: string): string | undefined {
  if (schema.minimum !== undefined && value < schema.minimum)
    return `${at}: expected at least ${schema.minimum}`;
  if (schema.maximum !== undefined && value > schema.maximum)
    return `${at}: expected at most ${schema.maximum}`;
  return undefined;
}
