// A client's move to the coordinator's newer reducer is all or nothing (runtime local-document.ts
// invariant 11), whether it comes with the burst that catches its base up (`rebase` given the reducer)
// or at once (`upgradeReducer`): a fault at any step (the reducer's instance, a refused frame, `migrate`
// trapping on the pages, the replay of the pending mutations) leaves the document exactly as it was —
// its reducer, every pending mutation, its base, its pages, the old schema — and the error as it was,
// so a later move succeeds.
import { readFile } from 'node:fs/promises';
import { schemaLifecycle } from '@tandem/migrations';
import {
  type Frame,
  type LocalDocument,
  MemoryByteStore,
  type MutationEnvelope,
  type ReducerModule,
  TandemError,
} from '@tandem/runtime';
import { type ByteStore, openLocalDocument, readSchemaMarkRecord } from '@tandem/runtime/local';
import { loadReducer } from '@tandem/runtime/prepare';
import { expect, test } from 'vitest';
import { AuthorityDocument } from './authority-document.js';

const fixture = (path: string) => new URL(`../../../${path}/dist/reducer.wasm`, import.meta.url);
const v1 = await loadReducer(await readFile(fixture('e2e/fixtures/todo-v1-reducer')));
const v2 = await loadReducer(await readFile(fixture('reducers/todo')));
/** Version 2 whose `migrate` refuses two todos with one title. */
const uniqueTitles = await loadReducer(await readFile(fixture('e2e/fixtures/todo-v2-unique-titles-reducer')));
const T0 = 1_700_000_000_000;
let docs = 0;

function envelope(timelineId: string, lsn: number, body: object): MutationEnvelope {
  return {
    timelineId,
    lsn,
    timestamp: T0 + lsn,
    payload: new TextEncoder().encode(JSON.stringify(body)),
  };
}

function framesSince(authority: AuthorityDocument, cursor: number): Frame[] {
  const catchUp = authority.framesSince(cursor);
  if (catchUp.status !== 'frames') throw new Error(`no frames since ${cursor}`);
  return catchUp.frames.map((kept) => kept.frame);
}

/**
 * A client caught up with a coordinator under version 1 (another client made two todos titled
 * "milk"), with mutations pending (one of them rejected locally); then the coordinator moves to
 * version 2 (`coordinatorMoves`) and the other client writes under it, or stays and writes under
 * version 1. `burst` is what the client has not taken yet.
 */
async function scene(coordinatorMoves: boolean, clientFiles: ByteStore = new MemoryByteStore()) {
  const docId = `move-${++docs}`;
  const coordinatorFiles = new MemoryByteStore();
  let authority = await AuthorityDocument.open({ docId, reducer: v1, storage: coordinatorFiles });
  await authority.push([
    {
      timelineId: 'other',
      mutations: [
        envelope('other', 0, { type: 'create', id: 'o1', title: 'milk' }),
        envelope('other', 1, { type: 'create', id: 'o2', title: 'milk' }),
      ],
    },
  ]);
  const client = await openLocalDocument({
    schema: schemaLifecycle,
    docId,
    reducer: v1,
    timelineId: 'me',
    storage: clientFiles,
  });
  client.rebase({ journalId: authority.journalId, frames: framesSince(authority, 0) });
  const made = await client.mutateBatch(
    [
      { type: 'create', id: 'm1', title: 'bread' },
      { type: 'toggle', id: 'o1' },
      { type: 'rename', id: 'nobody', title: 'x' },
      { type: 'create', id: 'm2', title: 'eggs' },
    ],
    { timestamp: T0 },
  );
  expect(made.map((r) => r.status)).toEqual(['applied', 'applied', 'rejected', 'applied']);
  if (coordinatorMoves) {
    await authority.close();
    authority = await AuthorityDocument.open({ docId, reducer: v2, storage: coordinatorFiles });
    await authority.push([
      {
        timelineId: 'other',
        mutations: [envelope('other', 2, { type: 'create', id: 'o3', title: 'tea', priority: 5 })],
      },
    ]);
  } else {
    await authority.push([
      { timelineId: 'other', mutations: [envelope('other', 2, { type: 'create', id: 'o3', title: 'tea' })] },
    ]);
  }
  const burst = framesSince(authority, client.baseCursor().cursor);
  return { docId, authority, client, burst };
}

/** Everything a failed move must leave as it was. */
async function state(doc: LocalDocument) {
  return {
    reducer: doc.reducer,
    pending: doc.pendingAfter(-1).map((m) => m.lsn),
    pendingCount: doc.pendingCount,
    base: doc.baseCursor(),
    pageHash: await doc.pageHash(),
    columns: (await doc.query("SELECT name FROM pragma_table_info('todos') ORDER BY cid")).map((r) => r.name),
    todos: await doc.query('SELECT * FROM todos ORDER BY id'),
    rejections: (await doc.rejections()).map((r) => [r.lsn, r.reason]),
  };
}

/** `module` whose instances throw `error` from `reduce` (a host fault, not a reducer's rejection). */
function throwingReduce(module: ReducerModule, error: Error): ReducerModule {
  return {
    ...module,
    instantiate: (imports) => {
      const instance = module.instantiate(imports);
      return {
        get fresh() {
          return instance.fresh;
        },
        schemaVersion: () => instance.schemaVersion(),
        migrate: (from) => instance.migrate(from),
        reduce: () => {
          throw error;
        },
      };
    },
  };
}

const instanceLost = new Error('no memory left for an instance');
const hostLost = new Error('the host lost the reducer');

interface Fault {
  readonly name: string;
  /** The coordinator moved to version 2 (its migration is in the burst), or stayed on version 1. */
  readonly coordinatorMoves: boolean;
  /** The reducer and burst the move is tried with. */
  readonly attempt: (burst: Frame[]) => { readonly reducer: ReducerModule; readonly burst: Frame[] };
  /** The reducer the later move succeeds with. */
  readonly retry: ReducerModule;
  readonly thrown: (error: unknown) => void;
}

const badPage = (frame: Frame): Frame => ({
  ...frame,
  pages: [{ pgno: 1, data: new Uint8Array(100) }, ...frame.pages],
});

const faults: Fault[] = [
  {
    name: 'its instance cannot be made',
    coordinatorMoves: true,
    attempt: (burst) => ({
      reducer: {
        ...v2,
        instantiate: () => {
          throw instanceLost;
        },
      },
      burst,
    }),
    retry: v2,
    thrown: (error) => expect(error).toBe(instanceLost),
  },
  {
    name: 'the first frame of the burst is out of order',
    coordinatorMoves: true,
    attempt: (burst) => ({ reducer: v2, burst: burst.map((f) => ({ ...f, lsn: f.lsn + 1 })) }),
    retry: v2,
    thrown: (error) => expect((error as { kind?: string }).kind).toBe('frame-out-of-order'),
  },
  {
    name: 'a frame after the migration is refused',
    coordinatorMoves: true,
    attempt: (burst) => ({
      reducer: v2,
      burst: burst.map((f, i) => (i === burst.length - 1 ? badPage(f) : f)),
    }),
    retry: v2,
    thrown: (error) => expect(error).toBeInstanceOf(RangeError),
  },
  {
    name: 'migrate traps on the pages',
    coordinatorMoves: false,
    attempt: (burst) => ({ reducer: uniqueTitles, burst }),
    retry: v2,
    thrown: (error) => {
      expect(error).toBeInstanceOf(TandemError);
      expect((error as TandemError).kind).toBe('migration-failed');
    },
  },
  {
    name: 'the replay of the pending mutations throws',
    coordinatorMoves: true,
    attempt: (burst) => ({ reducer: throwingReduce(v2, hostLost), burst }),
    retry: v2,
    thrown: (error) => expect(error).toBe(hostLost),
  },
];

for (const fault of faults) {
  test(`a move with the catch-up burst whose ${fault.name} leaves the document as it was, and a later move succeeds`, async () => {
    const { authority, client, burst } = await scene(fault.coordinatorMoves);
    const heard: unknown[] = [];
    client.onUpgrade((upgrade) => heard.push(upgrade));
    // The overlay as a replay makes it, so that pages compare with the one the failed move rebuilds.
    client.rebase({ journalId: authority.journalId, frames: [] });
    const before = await state(client);
    const { reducer, burst: tried } = fault.attempt(burst);
    let thrown: unknown;
    try {
      client.rebase({ journalId: authority.journalId, frames: tried, reducer });
    } catch (error) {
      thrown = error;
    }
    fault.thrown(thrown);
    expect(await state(client)).toEqual(before);
    expect(before.reducer.hash).toBe(v1.sha256);
    expect(before.columns).not.toContain('priority');
    expect(heard).toEqual([]);

    // The next session catches up and moves.
    client.rebase({ journalId: authority.journalId, frames: burst, reducer: fault.retry });
    expect(client.reducer.hash).toBe(fault.retry.sha256);
    expect(heard).toHaveLength(1);
    const after = await state(client);
    expect(after.columns).toContain('priority');
    expect(after.pending).toEqual(before.pending);
    expect(after.todos.map((t) => t.id)).toEqual(['m1', 'm2', 'o1', 'o2', 'o3']);
    await client.close();
    await authority.close();
  });
}

for (const fault of faults.filter(
  (f) => f.name !== 'migrate traps on the pages' && !f.name.includes('frame'),
)) {
  test(`upgradeReducer whose ${fault.name} rejects with the document as it was, and a later upgrade succeeds`, async () => {
    const { authority, client } = await scene(false);
    client.rebase({ journalId: authority.journalId, frames: [] });
    const before = await state(client);
    const { reducer } = fault.attempt([]);
    fault.thrown(
      await client.upgradeReducer(reducer).then(
        () => undefined,
        (error: unknown) => error,
      ),
    );
    expect(await state(client)).toEqual(before);
    await client.upgradeReducer(fault.retry);
    expect(client.reducer.hash).toBe(fault.retry.sha256);
    expect((await state(client)).pending).toEqual(before.pending);
    await client.close();
    await authority.close();
  });
}

test('upgradeReducer whose migrate traps on the pages rejects with the document as it was', async () => {
  const { authority, client } = await scene(false);
  client.rebase({ journalId: authority.journalId, frames: [] });
  const before = await state(client);
  const error = await client.upgradeReducer(uniqueTitles).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect((error as TandemError).kind).toBe('migration-failed');
  expect(await state(client)).toEqual(before);
  await client.close();
  await authority.close();
});

for (const how of ['with the catch-up burst', 'by upgradeReducer'] as const) {
  test(`a move ${how} whose migrate fails puts the schema mark back: the document reopens offline with the app's reducer, on its version, every pending mutation there`, async () => {
    const clientFiles = new MemoryByteStore();
    const { docId, authority, client, burst } = await scene(false, clientFiles);
    client.rebase({ journalId: authority.journalId, frames: [] });
    const before = await state(client);
    let thrown: unknown;
    if (how === 'with the catch-up burst') {
      // As the sync client does: the version recorded (with the reducer kept beside it), then the move.
      await client.readyUpgrade(uniqueTitles);
      try {
        client.rebase({ journalId: authority.journalId, frames: burst, reducer: uniqueTitles });
      } catch (error) {
        thrown = error;
      }
    } else {
      thrown = await client.upgradeReducer(uniqueTitles).then(
        () => undefined,
        (error: unknown) => error,
      );
    }
    expect((thrown as TandemError).kind).toBe('migration-failed');
    await client.close();

    const reopened = await openLocalDocument({
      schema: schemaLifecycle,
      docId,
      reducer: v1,
      timelineId: 'me',
      storage: clientFiles,
    });
    expect(await state(reopened)).toEqual(before);
    expect(reopened.reducer).toEqual({ hash: v1.sha256, schemaVersion: 1 });

    // The mark moves up again with the next move, which holds.
    await reopened.readyUpgrade(v2);
    reopened.rebase({ journalId: authority.journalId, frames: burst, reducer: v2 });
    expect(reopened.reducer.hash).toBe(v2.sha256);
    expect((await state(reopened)).pending).toEqual(before.pending);
    await reopened.close();
    await authority.close();
  });
}

/** `files`, whose writes of schema marks fail once `armed` (a disk that fails under the mark alone). */
function failingMarks(files: MemoryByteStore): { store: ByteStore; arm: () => void } {
  let armed = false;
  const refuse = (name: string) => {
    if (armed && name.startsWith('schema')) throw new Error(`injected: cannot write ${name}`);
  };
  const store: ByteStore = {
    list: () => files.list(),
    read: (name) => files.read(name),
    append: async (name, bytes) => {
      refuse(name);
      await files.append(name, bytes);
    },
    sync: (name) => files.sync(name),
    delete: (name) => files.delete(name),
  };
  return { store, arm: () => (armed = true) };
}

test('a mark that cannot be put back after a failed move fails the document loudly (storage-failed), never leaving it taking mutations over a mark above what it runs', async () => {
  const files = new MemoryByteStore();
  const { store, arm } = failingMarks(files);
  const { authority, client, burst } = await scene(false, store);
  client.rebase({ journalId: authority.journalId, frames: [] });
  await client.readyUpgrade(uniqueTitles);
  arm();
  expect(() =>
    client.rebase({ journalId: authority.journalId, frames: burst, reducer: uniqueTitles }),
  ).toThrow(expect.objectContaining({ kind: 'migration-failed' }));
  await expect
    .poll(() =>
      client.mutate({ type: 'create', id: 'after', title: 'after' }).then(
        () => 'taken',
        (e) => e.kind,
      ),
    )
    .toBe('storage-failed');
  await client.close().catch(() => undefined);
  await authority.close();
});

test("a move with the catch-up burst whose mark was not yet written again as held when the process died reopens offline on the move's reducer: the base's pages at its version say the move held", async () => {
  const files = new MemoryByteStore();
  let pause = false;
  let release = () => {};
  const paused = new Promise<void>((resolve) => {
    release = resolve;
  });
  const store: ByteStore = {
    list: () => files.list(),
    read: (name) => files.read(name),
    append: async (name, bytes) => {
      if (pause && name.startsWith('schema')) await paused;
      await files.append(name, bytes);
    },
    sync: (name) => files.sync(name),
    delete: (name) => files.delete(name),
  };
  const { docId, authority, client, burst } = await scene(true, store);
  await client.readyUpgrade(v2);
  pause = true;
  client.rebase({ journalId: authority.journalId, frames: burst, reducer: v2 });
  expect(client.reducer.hash).toBe(v2.sha256);
  const moved = await state(client);
  // The process dies with the held mark still unwritten (the newest mark records the move), once the
  // burst is durable in the base.
  const reopen = (keepUnsynced: boolean) =>
    openLocalDocument({
      schema: schemaLifecycle,
      docId,
      reducer: v1,
      timelineId: 'me',
      storage: files.crashImage({ keepUnsynced }),
    });
  const durableBase = async () => {
    const doc = await reopen(false);
    const cursor = doc.baseCursor();
    await doc.close();
    return cursor;
  };
  // The base writes its frames within its settle time (client-base.ts SETTLE_MS).
  await expect.poll(durableBase, { timeout: 6_000, interval: 200 }).toEqual(moved.base);
  for (const keepUnsynced of [false, true]) {
    const reopened = await reopen(keepUnsynced);
    expect(reopened.reducer).toEqual({ hash: v2.sha256, schemaVersion: 2 });
    expect(reopened.baseCursor()).toEqual(moved.base);
    expect((await state(reopened)).todos).toEqual(moved.todos);
    await reopened.close();
  }
  // The newest mark recorded the move; the open writes it again as held, so the next one decides nothing.
  const image = files.crashImage({ keepUnsynced: false });
  expect((await readSchemaMarkRecord(image, await image.list()))?.move).toBeDefined();
  await (
    await openLocalDocument({ schema: schemaLifecycle, docId, reducer: v1, timelineId: 'me', storage: image })
  ).close();
  expect(await readSchemaMarkRecord(image, await image.list())).toEqual({
    schemaVersion: 2,
    sha256: v2.sha256,
  });
  release();
  await client.close();
  await authority.close();
});
