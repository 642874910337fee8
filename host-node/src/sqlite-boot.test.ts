import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';
import { TODO_REDUCER } from './testing/paths.js';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('../dist/testing/tier-up.js', import.meta.url));

interface Trace {
  /** The module (V8's address of it) and index of each function TurboFan compiled, by step. */
  readonly turbofan: Map<string, { module: string; index: number }[]>;
  /** The module of SQLite: the only one here with thousands of functions (the reducer has tens). */
  readonly sqlite: string | undefined;
}

function parse(stdout: string): Trace {
  const turbofan = new Map<string, { module: string; index: number }[]>();
  let step = 'opening';
  let sqlite: string | undefined;
  for (const line of stdout.split('\n')) {
    if (line === 'answered' || line === 'idle' || line === 'worked') {
      step = line;
      continue;
    }
    const compiled = /^Compiled function (0x[0-9a-f]+)#(\d+) using (\w+)/.exec(line);
    if (compiled === null) continue;
    const [, module = '', index = '', tier] = compiled;
    if (Number(index) >= 2000) sqlite = module;
    if (tier !== 'TurboFan') continue;
    const list = turbofan.get(step) ?? [];
    list.push({ module, index: Number(index) });
    turbofan.set(step, list);
  }
  return { turbofan, sqlite };
}

// sqlite-boot.ts raises the budget on the V8 whose default it read (Node 20's) only.
const budgetRaised = process.versions.v8.startsWith('11.3.');

test.skipIf(!budgetRaised)(
  'an open recompiles nothing with TurboFan before it answers, and SQLite still tiers up once it works',
  async () => {
    // The reducer prepared once by the same build, as after `tandem build`: the child reads it from the cache.
    await run(process.execPath, [CHILD, TODO_REDUCER, 'warm']);
    const { stdout } = await run(process.execPath, ['--trace-wasm-compilation-times', CHILD, TODO_REDUCER], {
      maxBuffer: 1 << 24,
    });
    const trace = parse(stdout);
    expect(stdout).toContain('worked');
    expect(trace.sqlite, 'SQLite compiled in the child').toBeDefined();
    // Before the open answered, or in the idle second after it (where a recompile it started would end).
    expect(trace.turbofan.get('opening') ?? []).toEqual([]);
    expect(trace.turbofan.get('answered') ?? []).toEqual([]);
    const sqliteTieredUp = (trace.turbofan.get('idle') ?? []).filter((f) => f.module === trace.sqlite);
    expect(
      sqliteTieredUp.length,
      'SQLite functions TurboFan compiled while reducing 2,000 creates',
    ).toBeGreaterThan(0);
  },
  30_000,
);
