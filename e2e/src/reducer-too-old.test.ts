// Never an older reducer over a newer schema (issue 12, must-show 4): a document whose database a
// version 2 reducer migrated is refused to the version 1 reducer with `reducer-too-old`, naming both
// versions, on a client (also one whose newer version lives only in its overlay of pending mutations)
// and on the coordinator, and the refusal writes nothing: every file of the document is byte for byte
// what it was. Chromium over OPFS: reducer-too-old-browser.test.ts.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { startCoordinator } from '@tandem/coordinator';
import { documentFolder, openDocument } from '@tandem/host-node';
import { TandemError } from '@tandem/runtime';
import { expect, test } from 'vitest';
import { REPO_ROOT } from './support/vite-server.js';

const TODO_V1 = join(REPO_ROOT, 'e2e/fixtures/todo-v1-reducer/dist/reducer.wasm');
const TODO_V2 = join(REPO_ROOT, 'reducers/todo/dist/reducer.wasm');

/** Every file under `folder`, by its path relative to it, with its bytes. */
async function filesUnder(folder: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const entry of await readdir(folder, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(relative(folder, path), await readFile(path));
  }
  return files;
}

async function refusal(opening: Promise<unknown>): Promise<TandemError> {
  const error = await opening.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TandemError);
  return error as TandemError;
}

test('a document at schema version 2 is refused to the version 1 reducer, on the client and on the coordinator, and nothing of it is written', async () => {
  const scratch = await mkdtemp(join(tmpdir(), 'tandem-too-old-'));
  const serverData = join(scratch, 'coordinator');
  const clientData = join(scratch, 'client');
  try {
    const v2 = await startCoordinator({ reducer: await readFile(TODO_V2), dataDir: serverData, port: 0 });
    const coordinatorUrl = `${v2.url.replace('http', 'ws')}/sync`;
    const doc = await openDocument({ docId: 'd', reducer: TODO_V2, dataDir: clientData, coordinatorUrl });
    await doc.mutate({ type: 'create', id: 'a', title: 'milk', priority: 3 });
    await doc.synced();
    await doc.caughtUp();
    await doc.close();
    await v2.close();

    // The client: its base holds the coordinator's version 2 pages.
    const clientFiles = await filesUnder(clientData);
    const local = await refusal(openDocument({ docId: 'd', reducer: TODO_V1, dataDir: clientData }));
    expect(local.kind).toBe('reducer-too-old');
    expect(local.fields).toMatchObject({ documentVersion: 2, reducerVersion: 1 });
    expect(local.message).toMatch(/schema version 2 .*version 1/);
    expect(await filesUnder(clientData)).toEqual(clientFiles);

    // The coordinator: started with version 1 over the same data, it refuses the document when it opens.
    const serverFolder = documentFolder(serverData, 'd');
    const serverFiles = await filesUnder(serverFolder);
    const v1 = await startCoordinator({ reducer: await readFile(TODO_V1), dataDir: serverData, port: 0 });
    try {
      const authority = await refusal(v1.pageHash('d'));
      expect(authority.kind).toBe('reducer-too-old');
      expect(authority.fields).toMatchObject({ documentVersion: 2, reducerVersion: 1 });
    } finally {
      await v1.close();
    }
    expect(serverFiles.size).toBeGreaterThan(0);
    expect(await filesUnder(serverFolder)).toEqual(serverFiles);

    // Version 2 still opens it, whole.
    const reopened = await openDocument({ docId: 'd', reducer: TODO_V2, dataDir: clientData });
    expect(await reopened.query('SELECT id, priority FROM todos')).toEqual([{ id: 'a', priority: 3 }]);
    await reopened.close();
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}, 60_000);

test('a document that never synced, whose pending mutations a version 2 reducer wrote, is refused to the version 1 reducer, and nothing of it is written', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'tandem-too-old-local-'));
  try {
    // Its base is empty (schema version 0): version 2 lives only in its overlay, rebuilt at each open
    // from the timeline under the reducer it is given.
    const doc = await openDocument({ docId: 'd', reducer: TODO_V2, dataDir });
    await doc.mutate({ type: 'create', id: 'a', title: 'milk', priority: 3 });
    await doc.close();

    const files = await filesUnder(dataDir);
    const refused = await refusal(openDocument({ docId: 'd', reducer: TODO_V1, dataDir }));
    expect(refused.kind).toBe('reducer-too-old');
    expect(refused.fields).toMatchObject({ documentVersion: 2, reducerVersion: 1 });
    expect(await filesUnder(dataDir)).toEqual(files);

    const reopened = await openDocument({ docId: 'd', reducer: TODO_V2, dataDir });
    expect(await reopened.query('SELECT id, priority FROM todos')).toEqual([{ id: 'a', priority: 3 }]);
    await reopened.close();
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}, 60_000);
