// Once per `vitest run`, before any test file: a fresh folder where the run's processes (test files,
// coordinators, clients they spawn) share prepared reducers instead of each preparing the same
// components with binaryen (runtime/src/reducer/shared-prepared.ts). Set in process.env here, it reaches
// every worker and the processes they start. Removed after the run.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default async function setup(): Promise<() => Promise<void>> {
  const folder = await mkdtemp(join(tmpdir(), 'tandem-prepared-'));
  process.env.TANDEM_PREPARED_CACHE = folder;
  return async () => {
    await rm(folder, { recursive: true, force: true });
  };
}
