// The prestarted owner worker's holding rules (owner-prestart.ts), with the browser's Worker stood in
// for in Node: only when and to whom it is handed, and when it is ended (the worker itself runs in
// Chromium: e2e owner-election.test.ts).
import { afterEach, beforeEach, expect, test, vi } from 'vitest';

class StandInWorker extends EventTarget {
  static started: StandInWorker[] = [];
  terminated = false;
  constructor(
    readonly url: URL,
    readonly options: WorkerOptions,
  ) {
    super();
    StandInWorker.started.push(this);
  }
  terminate(): void {
    this.terminated = true;
  }
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.resetModules();
  StandInWorker.started = [];
  vi.stubGlobal('window', globalThis);
  vi.stubGlobal('Worker', StandInWorker);
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

const prestart = () => import('./owner-prestart.js');

test('the prestarted worker is handed to one start only, and then never ended by its idle timer', async () => {
  const { prestartOwnerWorker, takePrestartedOwnerWorker } = await prestart();
  prestartOwnerWorker();
  prestartOwnerWorker();
  expect(StandInWorker.started).toHaveLength(1);
  const taken = takePrestartedOwnerWorker();
  expect(taken).toBe(StandInWorker.started[0]);
  expect(takePrestartedOwnerWorker()).toBeUndefined();
  vi.advanceTimersByTime(60_000);
  expect(StandInWorker.started[0]?.terminated).toBe(false);
});

test('a prestarted worker no start took within 30 s is ended, and not handed out after', async () => {
  const { prestartOwnerWorker, takePrestartedOwnerWorker } = await prestart();
  prestartOwnerWorker();
  vi.advanceTimersByTime(29_999);
  expect(StandInWorker.started[0]?.terminated).toBe(false);
  vi.advanceTimersByTime(1);
  expect(StandInWorker.started[0]?.terminated).toBe(true);
  expect(takePrestartedOwnerWorker()).toBeUndefined();
});

test('a prestarted worker whose script failed is ended and never handed out', async () => {
  const { prestartOwnerWorker, takePrestartedOwnerWorker } = await prestart();
  prestartOwnerWorker();
  StandInWorker.started[0]?.dispatchEvent(new Event('error'));
  expect(takePrestartedOwnerWorker()).toBeUndefined();
  expect(StandInWorker.started[0]?.terminated).toBe(true);
});

test('outside a tab (no window, as in Node or a worker) nothing is prestarted', async () => {
  vi.stubGlobal('window', undefined);
  const { prestartOwnerWorker, takePrestartedOwnerWorker } = await prestart();
  prestartOwnerWorker();
  expect(StandInWorker.started).toHaveLength(0);
  expect(takePrestartedOwnerWorker()).toBeUndefined();
});
