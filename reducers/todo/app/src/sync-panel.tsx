// Beside the list: where the document stands with the coordinator, what it refused, and whether the
// document is kept in memory only.
import { useSyncState } from '@tandem/host-browser/react';
import type { ReactNode } from 'react';
import { syncLabel, syncText } from './sync-label.js';

export function SyncPanel(): ReactNode {
  const status = useSyncState();
  return (
    <aside className="sync-panel" aria-label="Sync">
      {status.warning !== undefined && (
        <p className="sync-warning" role="alert" data-testid="warning">
          {status.warning}
        </p>
      )}
      <p
        className={`sync-status sync-${syncLabel(status)}`}
        data-testid="sync-status"
        data-owner={status.isOwner}
        aria-live="polite"
      >
        {syncText(status)}
      </p>
      <p className="sync-owner">
        {status.isOwner ? 'This tab holds the document for all tabs' : 'Another tab holds the document'}
        {status.persisted ? ', kept in this browser' : ''}
      </p>
      <section className="rejections" hidden={status.rejections.length === 0}>
        <h2>Rejected changes</h2>
        <ul data-testid="rejections">
          {status.rejections.map((rejection) => (
            <li key={rejection.lsn} data-final={rejection.final}>
              {rejection.reason}
              {!rejection.final && <span className="not-final"> (not yet confirmed by the coordinator)</span>}
            </li>
          ))}
        </ul>
      </section>
    </aside>
  );
}
