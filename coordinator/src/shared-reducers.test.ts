// The check that brings a coordinator to the reducer another coordinator deployed (shared-reducers.ts):
// a failed activation is tried again, and a check never returns while an activation is in flight.
import { expect, test } from 'vitest';
import { createLog } from './log.js';
import type { RegisteredReducer } from './reducer-registry.js';
import { SharedReducers } from './shared-reducers.js';

const v1: RegisteredReducer = { sha256: 'a'.repeat(64), bytes: new Uint8Array([1]), schemaVersion: 1 };
const v2: RegisteredReducer = { sha256: 'b'.repeat(64), bytes: new Uint8Array([2]), schemaVersion: 2 };

/** A coordinator running v1 whose store names v2 (deployed elsewhere); `useReducers` as given. */
function behind(useReducers: (current: RegisteredReducer) => Promise<void>) {
  let current = v1;
  const loaded: string[] = [];
  const shared = new SharedReducers({
    registry: {
      get current() {
        return current;
      },
      get older() {
        return current === v2 ? [v1] : [];
      },
      refresh: async () => {
        const changed = current !== v2;
        current = v2;
        return changed;
      },
    },
    pool: {
      useReducers: async (reducer) => {
        await useReducers(reducer as RegisteredReducer);
        loaded.push(reducer.sha256);
      },
      releaseAll: async () => undefined,
    },
    currentInStore: async () => v2.sha256,
    closeConnections: () => undefined,
    pollMs: 3_600_000,
    log: createLog({ level: 'silent' }),
  });
  return { shared, loaded };
}

test('an activation that failed is tried again at the next check, until the workers run the reducer the store names', async () => {
  let failures = 1;
  const { shared, loaded } = behind(async () => {
    if (failures-- > 0) throw new Error('worker busy');
  });
  await expect(shared.inStep('d')).rejects.toThrow('worker busy');
  expect(loaded).toEqual([]);
  await shared.inStep('d');
  expect(loaded).toEqual([v2.sha256]);
  await shared.inStep('d');
  expect(loaded).toEqual([v2.sha256]);
  shared.close();
});

test('a check made while an activation is in flight returns only once the workers run the new reducer', async () => {
  let release = (): void => undefined;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const { shared, loaded } = behind(() => held);
  const first = shared.inStep('d1');
  await new Promise((resolve) => setTimeout(resolve, 10));
  let secondDone = false;
  const second = shared.inStep('d2').then(() => {
    secondDone = true;
  });
  await new Promise((resolve) => setTimeout(resolve, 10));
  expect(secondDone).toBe(false);
  release();
  await Promise.all([first, second]);
  expect(loaded).toEqual([v2.sha256]);
  shared.close();
});
