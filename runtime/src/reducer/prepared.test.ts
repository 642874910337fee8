import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { readReducerComponent } from './component.js';
import { CORE_PREAMBLE } from './core-module.js';
import { component, FULL_GUEST } from './fixtures.test-helpers.js';
import { loadPreparedReducer, type ReducerImports, ReducerLoadError } from './host.js';
import { DEFAULT_LIMITS } from './limits.js';
import { meterCoreModule } from './meter.js';
import { METER_VERSION } from './meter-abi.js';
import { loadReducer, prepareReducer } from './prepare.js';
import { encodePrepared, isPrepared, type PreparedHeader, readPrepared } from './prepared.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

const host: ReducerImports = {
  execute: () => 1n,
  executeBatch: () => 0n,
  query: () => ({ columns: [], rows: [] }),
  log: () => {},
  enter: () => {},
  now: () => 0n,
  random: () => 0n,
};

const componentBytes = await component(FULL_GUEST);
const prepared = await prepareReducer(componentBytes);
const header = readPrepared(prepared).header;
const core = readReducerComponent(componentBytes).module;

async function loadError(bytes: Uint8Array, limits = {}): Promise<ReducerLoadError> {
  const error = await loadPreparedReducer(bytes, { limits }).catch((e: unknown) => e);
  if (error instanceof ReducerLoadError) return error;
  throw new Error(`expected a ReducerLoadError, got ${String(error)}`);
}

/** The same metered module under another header. */
async function preparedWith(changes: Partial<PreparedHeader>): Promise<Uint8Array> {
  const metered = await meterCoreModule(core, header.maxMemoryPages, header.maxStackBytes);
  return encodePrepared(metered, { ...header, ...changes });
}

describe('preparing', () => {
  test('a prepared reducer records its meter version, metered limits and the component it came from', () => {
    expect(isPrepared(prepared)).toBe(true);
    expect(isPrepared(componentBytes)).toBe(false);
    expect(header).toEqual({
      meterVersion: METER_VERSION,
      maxMemoryPages: DEFAULT_LIMITS.maxMemoryPages,
      maxStackBytes: DEFAULT_LIMITS.maxStackBytes,
      component: { sha256: sha256(componentBytes), bytes: componentBytes.length },
    });
  });

  test('preparing is reproducible: metering the same core module again gives the same bytes', async () => {
    const again = encodePrepared(
      await meterCoreModule(core.slice(), header.maxMemoryPages, header.maxStackBytes),
      header,
    );
    expect(sha256(again)).toBe(sha256(prepared));
  });

  test('a prepared reducer given to prepareReducer comes back as it is', async () => {
    expect(sha256(await prepareReducer(prepared))).toBe(sha256(prepared));
  });
});

describe('loading a prepared reducer', () => {
  test('its identity is the hash of the bytes it compiles, the same as loading the component gives, and it runs', async () => {
    const module = await loadPreparedReducer(prepared);
    expect(module.sha256).toBe(sha256(prepared));
    expect(module.bytes).toBe(prepared.length);
    expect(module.component).toEqual(header.component);
    expect((await loadReducer(componentBytes)).sha256).toBe(module.sha256);
    expect((await loadReducer(prepared)).sha256).toBe(module.sha256);
    const payload = new TextEncoder().encode('a');
    expect(module.instantiate(host).reduce([{ timelineId: 't', lsn: 0, timestamp: 0, payload }])).toEqual([
      { ok: true },
    ]);
  });

  test('a component is refused with not-prepared: this loader has no instrumenter', async () => {
    const error = await loadError(componentBytes);
    expect(error.kind).toBe('not-prepared');
    expect(error.message).toContain('/reducers/current');
  });

  test('a core module without the prepared section is refused with not-prepared, and bytes that are not wasm with not-wasm', async () => {
    expect((await loadError(core)).kind).toBe('not-prepared');
    expect((await loadError(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]))).kind).toBe('not-wasm');
  });

  test('a reducer metered by another meter version is refused with meter-mismatch, and has another identity', async () => {
    for (const meterVersion of [METER_VERSION - 1, METER_VERSION + 1]) {
      const other = await preparedWith({ meterVersion });
      const error = await loadError(other);
      expect(error.kind).toBe('meter-mismatch');
      expect(error.message).toContain(`meter version ${meterVersion}`);
      expect(sha256(other)).not.toBe(sha256(prepared));
    }
  });

  test('a reducer metered under other memory or stack limits is refused with meter-mismatch unless the host has them too', async () => {
    const tight = await prepareReducer(componentBytes, { limits: { maxMemoryPages: 64 } });
    expect((await loadError(tight)).kind).toBe('meter-mismatch');
    expect((await loadError(prepared, { maxStackBytes: 4096 })).kind).toBe('meter-mismatch');
    const module = await loadPreparedReducer(tight, { limits: { maxMemoryPages: 64 } });
    expect(module.sha256).not.toBe(sha256(prepared));
  });

  test('a module that says it is metered but is not is refused as malformed', async () => {
    const error = await loadError(encodePrepared(core, header));
    expect(error.kind).toBe('malformed');
    expect(error.message).toContain('not metered');
  });

  test('a component larger than the host takes is too-large, as it is where it was prepared', async () => {
    expect((await loadError(prepared, { maxModuleBytes: componentBytes.length - 1 })).kind).toBe('too-large');
  });

  test('a header of another format or with trailing bytes is malformed', async () => {
    const other = prepared.slice();
    const formatAt = CORE_PREAMBLE.length + 2 + 1 + 'tandem:prepared'.length;
    expect(other[formatAt]).toBe(1);
    other[formatAt] = 2;
    expect((await loadError(other)).kind).toBe('malformed');
  });

  test('an unmetered module (bench only) loads only when asked for, and a metered one is not taken for it', async () => {
    const unmetered = await prepareReducer(componentBytes, { unmetered: true });
    expect(readPrepared(unmetered).header.meterVersion).toBe(0);
    expect((await loadError(unmetered)).kind).toBe('meter-mismatch');
    await expect(loadPreparedReducer(unmetered, { unmetered: true })).resolves.toBeDefined();
    const error = await loadPreparedReducer(prepared, { unmetered: true }).catch((e: unknown) => e);
    expect((error as ReducerLoadError).kind).toBe('meter-mismatch');
  });
});

const SEED = Number(process.env.FUZZ_SEED ?? 20261205);

test(`a prepared reducer truncated or with bytes changed (a damaged download) is refused with a ReducerLoadError or loads, nothing else (seed ${SEED})`, async () => {
  const damaged = fc.oneof(
    fc.nat(prepared.length - 1).map((n) => prepared.slice(0, n)),
    fc
      .array(fc.tuple(fc.nat(prepared.length - 1), fc.integer({ min: 0, max: 255 })), {
        minLength: 1,
        maxLength: 4,
      })
      .map((changes) => {
        const bytes = prepared.slice();
        for (const [at, value] of changes) bytes[at] = value;
        return bytes;
      }),
  );
  const kinds = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(damaged, async (bytes) => {
      const error = await loadPreparedReducer(bytes).then(
        () => undefined,
        (e: unknown) => e,
      );
      if (error === undefined) return;
      expect(error).toBeInstanceOf(ReducerLoadError);
      const { kind } = error as ReducerLoadError;
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    }),
    { seed: SEED, numRuns: 300 },
  );
  expect(kinds.get('malformed'), JSON.stringify([...kinds])).toBeGreaterThan(0);
}, 60_000);

/** Every module a runtime source reaches through static and dynamic imports, and its bare imports. */
async function importGraph(entry: string): Promise<{ files: Set<string>; bare: Set<string> }> {
  const files = new Set<string>();
  const bare = new Set<string>();
  const pending = [entry];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (files.has(file)) continue;
    files.add(file);
    const source = await readFile(file, 'utf8');
    for (const [, , spec] of source.matchAll(/(?:from|import)\s*\(?\s*(['"])([^'"]+)\1/g)) {
      if (spec === undefined) continue;
      if (spec.startsWith('.')) pending.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else bare.add(spec);
    }
  }
  return { files, bare };
}

describe('import graph', () => {
  const src = join(dirname(fileURLToPath(import.meta.url)), '..');

  test('the main entry (what a browser imports) reaches neither the instrumenter nor binaryen; the prepare entry does', async () => {
    const main = await importGraph(join(src, 'index.ts'));
    expect(main.files.has(join(src, 'reducer', 'host.ts'))).toBe(true);
    expect(main.files.has(join(src, 'reducer', 'meter.ts'))).toBe(false);
    expect(main.files.has(join(src, 'reducer', 'prepare.ts'))).toBe(false);
    expect(main.bare.has('binaryen')).toBe(false);
    const node = await importGraph(join(src, 'prepare.ts'));
    expect(node.files.has(join(src, 'reducer', 'meter.ts'))).toBe(true);
    expect(node.bare.has('binaryen')).toBe(true);
  });
});
