// A document's status shows its current rejections (document-status.ts invariant 2) also while a
// rebase left its pending mutations to be reduced again later (local-document.ts invariant 12): the
// local reducer's verdicts of the base before are withdrawn, reading the status replays nothing, and
// the next read of the overlay brings the verdicts of the current base, which listeners hear.
import { expect, test, vi } from 'vitest';
import type { SyncStatus } from './document-status.js';
import { openAuthority, openClient, settle, sqlPayload } from './reactive/documents.test-helpers.js';

const insert = (body: string) => sqlPayload(`INSERT INTO notes(body) VALUES ('${body}')`);

test('after a rebase that leaves the replay for later, the status lists no local verdict of the base before, and reading brings the current ones', async () => {
  const authority = await openAuthority('CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT UNIQUE)');
  authority.write(["INSERT INTO notes(body) VALUES ('taken')"]);
  const client = await openClient();
  const { document } = client;
  client.catchUp(authority);
  const heard: SyncStatus[] = [];
  document.onStatus((status) => heard.push(status));

  const [clash, free] = await document.mutateBatch([insert('taken'), insert('free')]);
  expect([clash?.status, free?.status]).toEqual(['rejected', 'applied']);
  const unique = expect.stringContaining('UNIQUE');
  expect(document.status.rejections).toEqual([{ lsn: 0, reason: unique, final: false }]);

  // Another client frees 'taken' and takes 'free': over the new base the verdicts are the reverse.
  authority.write(["DELETE FROM notes WHERE body = 'taken'", "INSERT INTO notes(body) VALUES ('free')"]);
  const replays = vi.spyOn(client.replica, 'applyBatch');
  client.catchUp(authority);
  expect(document.status.rejections).toEqual([]);
  await settle();
  expect(heard.at(-1)?.rejections).toEqual([]);
  expect(replays, 'reading the status replays nothing').not.toHaveBeenCalled();

  expect(await document.query('SELECT body FROM notes ORDER BY body')).toEqual([
    { body: 'free' },
    { body: 'taken' },
  ]);
  expect(document.status.rejections).toEqual([{ lsn: 1, reason: unique, final: false }]);
  await settle();
  expect(heard.at(-1)?.rejections).toEqual([{ lsn: 1, reason: unique, final: false }]);
  expect((await document.rejections()).map((r) => r.lsn)).toEqual([1]);
  await document.close();
});
