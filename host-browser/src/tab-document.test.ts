// The tab's TandemDocument across changes of owner, against owners faked in Node (the real ones run in
// Chromium: e2e/src/owner.test.ts).
import type { Row } from '@tandem/runtime';
import { TandemError } from '@tandem/runtime/errors';
import type { Remote } from 'comlink';
import { expect, test } from 'vitest';
import type { Connection, OwnerLink } from './owner-link.js';
import type { ClientSink, DocumentService, OwnerStatus } from './owner-protocol.js';
import { RemoteDocument } from './tab-document.js';

const STATUS: OwnerStatus = {
  syncState: 'live',
  pendingCount: 0,
  online: true,
  rejections: [],
  persisted: true,
};

/** An owner whose answers the test gives: each call waits until `answer` or the owner dies. */
class FakeOwner {
  readonly calls: {
    method: string;
    args: unknown[];
    answer: (value: unknown) => void;
    refuse: (error: unknown) => void;
  }[] = [];
  readonly subscribed = new Map<number, string>();
  sink: ClientSink | undefined;
  detached = false;
  #die: () => void = () => undefined;
  readonly lost = new Promise<void>((resolve) => {
    this.#die = resolve;
  });

  constructor(
    readonly generation: string,
    readonly isOwner: boolean,
  ) {}

  die(): void {
    this.#die();
  }

  connection(sink: ClientSink): Connection {
    this.sink = sink;
    const call =
      (method: string) =>
      (...args: unknown[]) =>
        new Promise((answer, refuse) => this.calls.push({ method, args, answer, refuse }));
    const service = {
      mutate: call('mutate'),
      mutateBatch: call('mutateBatch'),
      query: call('query'),
      fate: call('fate'),
      synced: call('synced'),
      pageHash: call('pageHash'),
      goOffline: call('goOffline'),
      goOnline: call('goOnline'),
      subscribe: async (id: number, sql: string) => {
        this.subscribed.set(id, sql);
      },
      unsubscribe: async (id: number) => {
        this.subscribed.delete(id);
      },
      detach: async () => {
        this.detached = true;
      },
    };
    return {
      service: service as unknown as Remote<DocumentService>,
      generation: this.generation,
      status: STATUS,
      isOwner: this.isOwner,
      lost: this.lost,
    };
  }

  /** Answers the oldest call of `method` still waiting. */
  answer(method: string, value: unknown): void {
    this.#take(method).answer(value);
  }

  refuse(method: string, error: unknown): void {
    this.#take(method).refuse(error);
  }

  #take(method: string) {
    const index = this.calls.findIndex((c) => c.method === method);
    const [call] = index === -1 ? [] : this.calls.splice(index, 1);
    if (call === undefined) throw new Error(`no ${method} call waits`);
    return call;
  }
}

/** Connects to the owners in the order given, each when it is offered. */
class FakeLink implements OwnerLink {
  readonly #owners: FakeOwner[] = [];
  #waiting: ((owner: FakeOwner) => void) | undefined;
  #startFailed: ((reason: string) => void) | undefined;
  closed = false;

  /** This tab was elected and could not start the owner; it will try again. */
  startFailed(reason: string): void {
    this.#startFailed?.(reason);
  }

  offer(owner: FakeOwner): void {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (waiting !== undefined) waiting(owner);
    else this.#owners.push(owner);
  }

  async connect(sink: ClientSink, waiting?: (reason: string) => void): Promise<Connection> {
    this.#startFailed = waiting;
    const owner =
      this.#owners.shift() ??
      (await new Promise<FakeOwner>((resolve) => {
        this.#waiting = resolve;
      }));
    return owner.connection(sink);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

async function opened(first: FakeOwner): Promise<{ document: RemoteDocument; link: FakeLink }> {
  const link = new FakeLink();
  link.offer(first);
  const document = new RemoteDocument('doc', link);
  await document.ready();
  return { document, link };
}

test('a mutation in flight when the owner goes away rejects with owner-lost; a read in flight is answered by the next owner', async () => {
  const first = new FakeOwner('g1', true);
  const { document, link } = await opened(first);
  const mutation = document.mutate({ type: 'create' });
  const query = document.query('SELECT 1');
  await tick();
  expect(first.calls.map((c) => c.method)).toEqual(['mutate', 'query']);

  first.die();
  const refused = await mutation.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(refused).toBeInstanceOf(TandemError);
  expect((refused as TandemError).kind).toBe('owner-lost');
  expect(document.status).toMatchObject({ syncState: 'connecting', isOwner: false });

  const second = new FakeOwner('g2', true);
  link.offer(second);
  await tick();
  second.answer('query', [{ 1: 1 }]);
  expect(await query).toEqual([{ 1: 1 }]);
  expect(document.status).toMatchObject({ syncState: 'live', isOwner: true });
});

test('a mutation the owner refused as closed (it was handing the document over) goes to the next owner', async () => {
  const first = new FakeOwner('g1', false);
  const { document, link } = await opened(first);
  const mutation = document.mutate({ type: 'create' });
  await tick();
  first.refuse('mutate', new TandemError('closed', 'document doc is closed'));
  await tick();
  first.die();
  const second = new FakeOwner('g2', true);
  link.offer(second);
  await tick();
  expect(second.calls.map((c) => c.method)).toEqual(['mutate']);
  second.answer('mutate', { lsn: 3, status: 'applied' });
  expect(await mutation).toEqual({ lsn: 3, status: 'applied' });
});

test('after a change of owner the subscriptions carry on, and a listener hears rows only when they differ', async () => {
  const first = new FakeOwner('g1', false);
  const { document, link } = await opened(first);
  const heard: Row[][] = [];
  const stop = document.subscribe('SELECT id FROM todos', [], (rows) => heard.push(rows));
  await tick();
  expect([...first.subscribed.values()]).toEqual(['SELECT id FROM todos']);
  const [id] = first.subscribed.keys();
  first.sink?.rows(id!, [{ id: 'a' }]);

  first.die();
  const second = new FakeOwner('g2', false);
  link.offer(second);
  await tick();
  expect([...second.subscribed.entries()]).toEqual([[id, 'SELECT id FROM todos']]);
  // The old owner is no longer heard; the new one's first answer repeats the rows: not heard again.
  first.sink?.rows(id!, [{ id: 'stale' }]);
  second.sink?.rows(id!, [{ id: 'a' }]);
  second.sink?.rows(id!, [{ id: 'a' }, { id: 'b' }]);
  expect(heard).toEqual([[{ id: 'a' }], [{ id: 'a' }, { id: 'b' }]]);

  stop();
  await tick();
  expect(second.subscribed.size).toBe(0);
});

test("within one owner the rows it sends are heard as they come: after an error the same rows are news again, as the owner's document says", async () => {
  const owner = new FakeOwner('g1', false);
  const { document } = await opened(owner);
  const heard: unknown[] = [];
  document.subscribe(
    'SELECT id FROM todos',
    [],
    (rows) => heard.push(rows),
    (error) => heard.push(String(error)),
  );
  await tick();
  const [id] = owner.subscribed.keys();
  owner.sink?.rows(id!, [{ id: 'a' }]);
  owner.sink?.error(id!, new Error('no such table: todos'));
  owner.sink?.rows(id!, [{ id: 'a' }]);
  expect(heard).toEqual([[{ id: 'a' }], 'Error: no such table: todos', [{ id: 'a' }]]);
});

test('after close every call rejects with closed, the owner is left and the status says closed', async () => {
  const owner = new FakeOwner('g1', true);
  const { document, link } = await opened(owner);
  const synced = document.synced();
  await document.close();
  expect(owner.detached).toBe(true);
  expect(link.closed).toBe(true);
  expect(document.status.syncState).toBe('closed');
  await expect(synced).rejects.toMatchObject({ kind: 'closed' });
  await expect(document.query('SELECT 1')).rejects.toMatchObject({ kind: 'closed' });
  expect(() => document.subscribe('SELECT 1', [], () => undefined)).toThrow(TandemError);
});

test('while the owner cannot start (a retry may cure it) the document opens offline and says why; a mutation made meanwhile goes to the owner that starts, once', async () => {
  const link = new FakeLink();
  const document = new RemoteDocument('doc', link);
  await tick();
  link.startFailed('the owner could not start (offline); trying again');
  await document.ready();
  expect(document.status).toMatchObject({
    syncState: 'offline',
    lastDrop: 'the owner could not start (offline); trying again',
    isOwner: false,
  });
  const mutation = document.mutate({ type: 'create' });
  link.startFailed('the owner could not start (still offline); trying again');
  expect(document.status.lastDrop).toBe('the owner could not start (still offline); trying again');

  const owner = new FakeOwner('g1', true);
  link.offer(owner);
  await tick();
  expect(owner.calls.map((c) => c.method)).toEqual(['mutate']);
  owner.answer('mutate', { lsn: 1, status: 'applied' });
  expect(await mutation).toEqual({ lsn: 1, status: 'applied' });
  expect(document.status).toMatchObject({ syncState: 'live', isOwner: true });
  expect(document.status.lastDrop).toBeUndefined();
});
