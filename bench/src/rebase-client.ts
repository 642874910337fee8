// The client side of the rebase scenario, shared by Node and the Chromium page (it imports only the
// isomorphic runtime): a `frames` message taken as the SyncClient takes one (decode the message, each
// page delta against the base's version), then the document's rebase and a first read: the rebase
// defers reducing the pending mutations again to the first read (runtime document-rebase.ts
// invariant 2), so without the read the timing would leave the replay out.
import { decodeServerMessage, type Frame, type LocalDocument, PageVersions } from '@tandem/runtime';

export async function receiveBurst(doc: LocalDocument, journalId: string, bytes: Uint8Array): Promise<void> {
  const message = decodeServerMessage(bytes);
  if (message.type !== 'frames') throw new Error(`a ${message.type} message where frames were expected`);
  const versions = new PageVersions((pgno) => doc.basePage(pgno));
  const frames: Frame[] = [];
  for (const wire of message.frames) frames.push(await versions.decode(wire));
  doc.rebase({ journalId, frames });
  await doc.query('SELECT count(*) FROM kv');
}
