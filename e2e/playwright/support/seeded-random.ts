// Randomness a failing run can replay: the seed comes from E2E_SEED or is drawn, and is written into
// the test's annotations (the report shows it) — `E2E_SEED=<seed> npm test -- --e2e-only` plays the same run.
import { test } from '@playwright/test';

export interface SeededRandom {
  readonly seed: number;
  /** Uniform in [0, 1). */
  readonly next: () => number;
}

export function seededRandom(): SeededRandom {
  const seed = Number(process.env.E2E_SEED ?? Math.floor(Math.random() * 2 ** 32));
  test.info().annotations.push({ type: 'seed', description: `E2E_SEED=${seed}` });
  // mulberry32
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return { seed, next };
}
