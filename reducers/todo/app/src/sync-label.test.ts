import type { DocumentStatus } from '@tandem/host-browser';
import { describe, expect, test } from 'vitest';
import { syncLabel, syncText } from './sync-label.js';

const status = (fields: Partial<DocumentStatus>): DocumentStatus => ({
  syncState: 'live',
  pendingCount: 0,
  online: true,
  rejections: [],
  persisted: true,
  isOwner: true,
  ...fields,
});

describe('the sync status line', () => {
  test('says synced only when live with nothing pending', () => {
    expect(syncText(status({}))).toBe('synced');
    expect(syncText(status({ pendingCount: 2 }))).toBe('syncing · 2 pending');
    expect(syncText(status({ syncState: 'catching-up' }))).toBe('syncing');
  });

  test('says offline when the connection is down, the app went offline, or sync stopped for good', () => {
    expect(syncText(status({ syncState: 'offline', pendingCount: 3 }))).toBe('offline · 3 pending');
    expect(syncLabel(status({ online: false }))).toBe('offline');
    expect(syncLabel(status({ syncState: 'closed' }))).toBe('offline');
    expect(
      syncText(status({ syncState: 'failed', syncError: { kind: 'history-reset', message: 'gone' } })),
    ).toBe('offline (sync stopped: history-reset: gone)');
  });

  test('says connecting while the first connection is made, with what waits', () => {
    expect(syncText(status({ syncState: 'connecting', pendingCount: 1 }))).toBe('connecting · 1 pending');
  });

  test('says waiting, with what waits, while the server runs an older version of the app', () => {
    expect(syncText(status({ syncState: 'waiting-for-reducer', pendingCount: 4 }))).toBe(
      'waiting (for the server to run this version of the app) · 4 pending',
    );
  });
});
