import { expect, test, vi } from 'vitest';
import { loadedSqlite, loadSqlite } from './sqlite.js';

test('loading sqlite-wasm prints nothing, and every caller shares one instance', async () => {
  expect(() => loadedSqlite()).toThrow(/await loadSqlite\(\) first/);
  const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((method) =>
    vi.spyOn(console, method).mockImplementation(() => {}),
  );
  const [first, second] = await Promise.all([loadSqlite(), loadSqlite()]);
  for (const spy of spies) expect(spy).not.toHaveBeenCalled();
  vi.restoreAllMocks();
  expect(second).toBe(first);
  expect(await loadSqlite()).toBe(first);
  expect(loadedSqlite()).toBe(first);
  expect(first.version.libVersion).toBe('3.54.1');
});
