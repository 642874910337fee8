// What the sync status line says: one of five words a user understands, then the pending count.
// offline: the app went offline, the connection is down, or sync stopped for good (with its reason);
// connecting: a first connection is being made; syncing: catching up, or mutations wait for the
// coordinator; waiting: this app is newer than the server's (its changes stay here until the server is
// updated); synced: live with nothing pending.
import type { DocumentStatus } from '@tandem/host-browser';

export type SyncLabel = 'offline' | 'connecting' | 'syncing' | 'waiting' | 'synced';

type StatusFields = Pick<DocumentStatus, 'syncState' | 'pendingCount' | 'online' | 'syncError'>;

export function syncLabel(status: StatusFields): SyncLabel {
  if (!status.online) return 'offline';
  switch (status.syncState) {
    case 'connecting':
      return 'connecting';
    case 'catching-up':
      return 'syncing';
    case 'live':
      return status.pendingCount > 0 ? 'syncing' : 'synced';
    case 'waiting-for-reducer':
      return 'waiting';
    case 'offline':
    case 'failed':
    case 'closed':
      return 'offline';
  }
}

/** e.g. "synced", "syncing · 3 pending", "offline (sync stopped: history-reset …) · 2 pending". */
export function syncText(status: StatusFields): string {
  const label = syncLabel(status);
  const why =
    status.syncState === 'failed' && status.syncError !== undefined
      ? ` (sync stopped: ${status.syncError.kind}: ${status.syncError.message})`
      : label === 'waiting'
        ? ' (for the server to run this version of the app)'
        : '';
  const pending = status.pendingCount > 0 ? ` · ${status.pendingCount} pending` : '';
  return `${label}${why}${pending}`;
}
