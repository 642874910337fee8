import { expect, test } from 'vitest';
import { MAX_REJECTIONS_LISTED, RejectionList, StatusFeed, type SyncStatus } from './document-status.js';

const turn = () => new Promise((resolve) => setTimeout(resolve, 0));
const no = (reason: string) => ({ ok: false as const, reason });
const yes = { ok: true as const };

test('a local rejection is provisional; the coordinator makes it final with its reason, or unlists it when it took the mutation', () => {
  const list = new RejectionList();
  list.ran(0, no('too long'));
  list.ran(1, no('no todo with id x'));
  list.ran(2, yes);
  expect(list.list).toEqual([
    { lsn: 0, reason: 'too long', final: false },
    { lsn: 1, reason: 'no todo with id x', final: false },
  ]);
  const reasons = new Map([[0, 'title is longer than 200 characters']]);
  list.taken(1, [], (lsn) => reasons.get(lsn));
  expect(list.list).toEqual([{ lsn: 0, reason: 'title is longer than 200 characters', final: true }]);
  // A final verdict stands whatever a later local run says.
  list.ran(0, yes);
  expect(list.list).toHaveLength(1);
});

test('a rebase revises the provisional verdicts, and the rejections a push answer names are final at once', () => {
  const list = new RejectionList();
  list.ran(3, no('no todo with id x'));
  list.ran(3, yes);
  expect(list.list).toEqual([]);
  list.ran(4, yes);
  list.ran(4, no('already exists'));
  list.taken(4, [{ lsn: 4, reason: "a todo with id 'y' already exists" }], () => undefined);
  expect(list.list).toEqual([{ lsn: 4, reason: "a todo with id 'y' already exists", final: true }]);
});

test('the list keeps the latest rejections, newest last, and stays the same array while nothing changes', () => {
  const list = new RejectionList();
  for (let lsn = 0; lsn < MAX_REJECTIONS_LISTED + 5; lsn++) list.ran(lsn, no(`r${lsn}`));
  expect(list.list).toHaveLength(MAX_REJECTIONS_LISTED);
  expect(list.list[0]?.lsn).toBe(5);
  const before = list.list;
  list.ran(50, no('r50'));
  expect(list.list).toBe(before);
  list.taken(10, [{ lsn: 7, reason: 'final' }], () => 'final');
  expect(list.list.at(-1)).toEqual({ lsn: 10, reason: 'final', final: true });
  expect(list.list.at(-2)).toEqual({ lsn: 9, reason: 'final', final: true });
});

test('the status is the same object until a field differs, and a listener hears one event per turn, only for a change', async () => {
  let status: SyncStatus = { syncState: 'live', pendingCount: 0, online: true, rejections: [] };
  const feed = new StatusFeed(() => ({ ...status }));
  const first = feed.status;
  expect(feed.status).toBe(first);
  const heard: SyncStatus[] = [];
  const stop = feed.listen((s) => heard.push(s));
  feed.changed();
  await turn();
  expect(heard).toEqual([]);
  status = { ...status, pendingCount: 1 };
  feed.changed();
  status = { ...status, pendingCount: 2 };
  feed.changed();
  await turn();
  expect(heard).toEqual([{ syncState: 'live', pendingCount: 2, online: true, rejections: [] }]);
  expect(feed.status).toBe(heard[0]);
  stop();
  status = { ...status, online: false };
  feed.changed();
  await turn();
  expect(heard).toHaveLength(1);
});

test('a listener that throws does not keep the others from hearing', async () => {
  let pendingCount = 0;
  const feed = new StatusFeed(() => ({ syncState: 'offline', pendingCount, online: true, rejections: [] }));
  const heard: number[] = [];
  const errors: unknown[] = [];
  const onError = (error: unknown) => errors.push(error);
  process.on('uncaughtException', onError);
  try {
    feed.listen(() => {
      throw new Error('listener bug');
    });
    feed.listen((s) => heard.push(s.pendingCount));
    pendingCount = 1;
    feed.changed();
    await turn();
    expect(heard).toEqual([1]);
    expect(errors).toEqual([new Error('listener bug')]);
  } finally {
    process.off('uncaughtException', onError);
  }
});
