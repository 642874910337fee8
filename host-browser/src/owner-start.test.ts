// Which failed starts of an owner are tried again (the owner worker itself runs in Chromium:
// e2e/src/owner-start.test.ts).
import { TandemError } from '@tandem/runtime/errors';
import { expect, test } from 'vitest';
import { startRetryable } from './owner-start.js';

test('a start is tried again unless refused for a reason a new start would meet again', () => {
  expect(startRetryable(new Error('the owner worker failed: its script could not be loaded'))).toBe(true);
  expect(startRetryable(new TandemError('storage-failed', 'flush failed'))).toBe(true);
  expect(startRetryable(new TandemError('invalid-reducer', 'cannot fetch', { reason: 'unreachable' }))).toBe(
    true,
  );
  expect(startRetryable(new TandemError('invalid-reducer', 'HTTP 404', { reason: 'unreadable' }))).toBe(
    false,
  );
  expect(startRetryable(new TandemError('invalid-reducer', 'a component', { reason: 'not-prepared' }))).toBe(
    false,
  );
  for (const kind of ['reducer-too-old', 'storage-corrupt', 'identity-lost', 'document-locked'] as const) {
    expect(startRetryable(new TandemError(kind, kind))).toBe(false);
  }
});
