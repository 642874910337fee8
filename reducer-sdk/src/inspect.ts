// `tandem inspect <file.wasm>`: says whether the bytes are a Tandem reducer, and what it is.
// Two independent checks: the world read back from the component itself (jco's `componentWit`),
// compared with the world `reducer.wit` defines (same exports and records, imports a subset of the
// world's); then the runtime's own loader (`loadReducer`, which prepares it as the coordinator does),
// so a reducer inspect accepts is one every host accepts. The schema version comes from running `schema-version` with imports that refuse.

import { componentEmbed, componentNew, componentWit } from '@bytecodealliance/jco';
import { declaredSchemaVersion, METER_VERSION, ReducerLoadError, type ReducerModule } from '@tandem/runtime';
import { loadReducer } from '@tandem/runtime/prepare';
import { SdkError } from './errors.js';
import { readWit, WORLD } from './world.js';

export interface Inspection {
  readonly world: typeof WORLD;
  /** World-level export lines, e.g. `export reduce: func(batch: list<mutation>) -> list<result<_, string>>;`. */
  readonly exports: readonly string[];
  /** The world functions it imports, e.g. `tandem:reducer/sql@0.2.0#execute`. */
  readonly imports: readonly string[];
  readonly schemaVersion: number;
  /** The component's size and SHA-256. */
  readonly bytes: number;
  readonly sha256: string;
  /** Its prepared form (the identity hosts of this runtime say in hello), under DEFAULT_LIMITS. */
  readonly prepared: { readonly sha256: string; readonly bytes: number; readonly meterVersion: number };
}

const CORE_VERSION = [0x01, 0x00, 0x00, 0x00];
const COMPONENT_VERSION = [0x0d, 0x00, 0x01, 0x00];

interface WorldShape {
  readonly imports: readonly string[];
  /** Every line of the world's body that is not an import: records, exports. */
  readonly rest: readonly string[];
}

/** The body of the (single) world in `componentWit`'s output, split into imports and the rest. */
function shapeOf(wit: string): WorldShape {
  const body = wit.slice(wit.indexOf('{') + 1, wit.lastIndexOf('}'));
  const lines = body
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  const imports = lines.filter((l) => l.startsWith('import ')).map((l) => l.slice('import '.length, -1));
  return { imports, rest: lines.filter((l) => !l.startsWith('import ')) };
}

let expected: Promise<WorldShape> | undefined;

/** The shape of the world as a component built for it looks, from a dummy module embedding the WIT. */
function expectedShape(): Promise<WorldShape> {
  expected ??= (async () => {
    const dummy = await componentEmbed({ dummy: true, witSource: readWit(), world: 'reducer' });
    return shapeOf(await componentWit(await componentNew(dummy)));
  })();
  return expected;
}

function startsWith(bytes: Uint8Array, at: number, expected: readonly number[]): boolean {
  return expected.every((b, i) => bytes[at + i] === b);
}

/** Checks that `bytes` are a component of the Tandem reducer world and describes it. */
export async function inspectReducer(bytes: Uint8Array): Promise<Inspection> {
  if (bytes.length < 8 || !startsWith(bytes, 0, [0x00, 0x61, 0x73, 0x6d])) {
    throw new SdkError('not-a-reducer', 'not a WebAssembly binary (no \\0asm header)');
  }
  if (startsWith(bytes, 4, CORE_VERSION)) {
    throw new SdkError(
      'not-a-reducer',
      'a core WebAssembly module, not a component: reducers are components (build one with `tandem build`)',
    );
  }
  if (!startsWith(bytes, 4, COMPONENT_VERSION)) {
    throw new SdkError('not-a-reducer', 'a WebAssembly binary of an unknown version or layer');
  }
  let wit: string;
  try {
    wit = await componentWit(bytes);
  } catch (e) {
    throw new SdkError('not-a-reducer', `not a valid WebAssembly component: ${String(e)}`, { cause: e });
  }
  const actual = shapeOf(wit);
  const world = await expectedShape();
  const extraImports = actual.imports.filter((i) => !world.imports.includes(i));
  const missing = world.rest.filter((l) => !actual.rest.includes(l));
  const extra = actual.rest.filter((l) => !world.rest.includes(l));
  if (extraImports.length > 0 || missing.length > 0 || extra.length > 0) {
    const details = [
      ...extraImports.map((i) => `imports ${i}`),
      ...missing.map((l) => `lacks \`${l}\``),
      ...extra.map((l) => `has \`${l}\``),
    ];
    throw new SdkError(
      'not-a-reducer',
      `a component of another world than ${WORLD}: it ${details.join('; ')}`,
    );
  }
  const module = await loadAsRuntime(bytes);
  return {
    world: WORLD,
    exports: actual.rest.filter((l) => l.startsWith('export ')),
    imports: module.imports,
    schemaVersion: declaredSchemaVersion(module),
    bytes: module.component.bytes,
    sha256: module.component.sha256,
    prepared: { sha256: module.sha256, bytes: module.bytes, meterVersion: METER_VERSION },
  };
}

/** Loads `bytes` as the runtime would; a refusal is `not-a-reducer` with the loader's reason. */
export async function loadAsRuntime(bytes: Uint8Array): Promise<ReducerModule> {
  try {
    return await loadReducer(bytes);
  } catch (e) {
    if (e instanceof ReducerLoadError)
      throw new SdkError('not-a-reducer', `${e.message} (${e.kind})`, { cause: e });
    throw e;
  }
}
