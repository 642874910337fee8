import fc from 'fast-check';
import { expect, test, vi } from 'vitest';
import type { Frame } from '../frame.js';
import { PageVersions } from '../protocol/page-delta.js';
import { PAGE_SIZE, PageStore } from '../vfs/page-store.js';
import { ClientBase, SETTLE_MS } from './client-base.js';
import { keepWireForm } from './frame-record.js';
import { type Fault, FaultyByteStore, MemoryByteStore } from './memory-byte-store.js';

/** Frames of a made-up history: frame n writes page (n % 5) + 1 filled with a byte of (seed, n). */
function history(seed: number, count: number): Frame[] {
  return Array.from({ length: count }, (_, lsn) => ({
    lsn,
    pageCount: 5,
    pages: [{ pgno: (lsn % 5) + 1, data: new Uint8Array(PAGE_SIZE).fill((seed * 31 + lsn) & 0xff) }],
  }));
}

function storeAfter(frames: readonly Frame[]): PageStore {
  const store = new PageStore();
  for (const frame of frames) store.applyFrame(frame);
  return store;
}

test('a base recorded burst by burst reopens at its cursor with the same pages', async () => {
  const root = new MemoryByteStore();
  const { base } = await ClientBase.open(root);
  const frames = history(1, 12);
  const live = new PageStore();
  for (const burst of [frames.slice(0, 5), frames.slice(5, 6), frames.slice(6)]) {
    for (const frame of burst) live.applyFrame(frame);
    base.record({ journalId: 'j1', frames: burst, base: live.base(), cursor: burst.at(-1)!.lsn + 1 });
  }
  await base.flushed();
  const { recovered } = await ClientBase.open(root);
  expect(recovered).toMatchObject({ journalId: 'j1', cursor: 12 });
  expect(await recovered.store.hash()).toBe(await live.hash());
});

test('a new history replaces the base, and the files of the old one are deleted', async () => {
  const root = new MemoryByteStore();
  const { base } = await ClientBase.open(root);
  const old = history(1, 4);
  base.record({ journalId: 'old', frames: old, base: storeAfter(old).base(), cursor: 4 });
  const fresh = history(2, 9);
  const image = storeAfter(fresh.slice(0, 7));
  base.record({
    journalId: 'new',
    replaced: { source: image.base(), frameCount: 7 },
    frames: fresh.slice(7),
    base: storeAfter(fresh).base(),
    cursor: 9,
  });
  await base.flushed();
  const { recovered } = await ClientBase.open(root);
  expect(recovered).toMatchObject({ journalId: 'new', cursor: 9 });
  expect(await recovered.store.hash()).toBe(await storeAfter(fresh).hash());
  const prefixes = new Set(
    (await root.list()).filter((f) => f.startsWith('base-')).map((f) => f.split('.')[0]),
  );
  expect(prefixes.size).toBe(1);
});

test('a crash anywhere in a switch of history leaves one whole history: the old base or the new one, never a mix', async () => {
  const old = history(1, 6);
  const fresh = history(2, 8);
  const oldHash = await storeAfter(old).hash();
  const newHashes = new Set<string>();
  for (let n = 5; n <= 8; n++) newHashes.add(await storeAfter(fresh.slice(0, n)).hash());
  const seen = { old: 0, new: 0, none: 0 };
  for (let k = 1; k < 40; k++) {
    for (const fault of [
      { mode: 'stop', at: 'write', k, tear: true },
      { mode: 'stop', at: 'sync', k },
    ] satisfies Fault[]) {
      const root = new FaultyByteStore(fault);
      const label = `${fault.at} ${k}`;
      try {
        const { base } = await ClientBase.open(root);
        base.record({ journalId: 'old', frames: old, base: storeAfter(old).base(), cursor: 6 });
        await base.flushed();
        base.record({
          journalId: 'new',
          replaced: { source: storeAfter(fresh.slice(0, 5)).base(), frameCount: 5 },
          frames: fresh.slice(5),
          base: storeAfter(fresh).base(),
          cursor: 8,
        });
        await base.flushed();
      } catch {
        // The crash; what survives is checked below.
      }
      for (const keepUnsynced of [false, true]) {
        const { recovered } = await ClientBase.open(root.crashImage({ keepUnsynced, undoDeletes: true }));
        const hash = await recovered.store.hash();
        seen[(recovered.journalId ?? 'none') as keyof typeof seen]++;
        if (recovered.journalId === 'new') expect(newHashes, label).toContain(hash);
        else if (recovered.journalId === 'old') {
          expect(recovered.cursor, label).toBeLessThanOrEqual(6);
          expect(hash, label).toBe(await storeAfter(old.slice(0, recovered.cursor)).hash());
        } else expect(recovered.cursor, label).toBe(0);
      }
    }
  }
  expect(oldHash).not.toBe('');
  // The faults land before, inside and after the switch.
  expect(seen.old).toBeGreaterThan(0);
  expect(seen.new).toBeGreaterThan(0);
});

test('a snapshot under the same journalId starts a fresh base: no frame of the old one is read after it', async () => {
  const root = new MemoryByteStore();
  const { base } = await ClientBase.open(root);
  const before = history(1, 10);
  base.record({ journalId: 'j', frames: before, base: storeAfter(before).base(), cursor: 10 });
  const restored = history(2, 7);
  base.record({
    journalId: 'j',
    replaced: { source: storeAfter(restored.slice(0, 5)).base(), frameCount: 5 },
    frames: restored.slice(5),
    base: storeAfter(restored).base(),
    cursor: 7,
  });
  await base.flushed();
  const { recovered } = await ClientBase.open(root);
  expect(recovered).toMatchObject({ journalId: 'j', cursor: 7 });
  expect(await recovered.store.hash()).toBe(await storeAfter(restored).hash());
});

test('a base whose frames since its last checkpoint outweigh it is checkpointed, and reopens from the image with few frames', async () => {
  const root = new MemoryByteStore();
  const { base } = await ClientBase.open(root);
  // 300 frames of one 4 KiB page each over a 5-page base: 1.2 MB of frames, far fewer than 1000.
  const frames = history(3, 300);
  const live = new PageStore();
  for (let i = 0; i < frames.length; i += 10) {
    const burst = frames.slice(i, i + 10);
    for (const frame of burst) live.applyFrame(frame);
    base.record({ journalId: 'j1', frames: burst, base: live.base(), cursor: burst.at(-1)!.lsn + 1 });
  }
  await base.flushed();
  const files = await root.list();
  let frameBytes = 0;
  for (const file of files.filter((f) => /^base-[0-9a-f]+\.frames\./.test(f)))
    frameBytes += (await root.read(file))?.length ?? 0;
  expect(files.some((f) => /^base-[0-9a-f]+\.pages\.0+[1-9]/.test(f))).toBe(true);
  expect(frameBytes).toBeLessThanOrEqual(1024 * 1024 + 64 * 1024);
  const { recovered } = await ClientBase.open(root);
  expect(recovered.cursor).toBe(300);
  expect(await recovered.store.hash()).toBe(await live.hash());
});

test('frames kept in their wire form reopen to the same pages as the receiver built, whatever the bursts, cuts and growths (fast-check)', async () => {
  const seed = Number(
    (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.FC_SEED ??
      20_261_206,
  );
  // A frame: its page count, then pages each changed at a few offsets from their previous version.
  const frameArb = fc.record({
    pageCount: fc.integer({ min: 1, max: 8 }),
    edits: fc.array(
      fc.record({
        pgno: fc.integer({ min: 1, max: 8 }),
        at: fc.array(fc.tuple(fc.nat(PAGE_SIZE - 1), fc.integer({ min: 1, max: 255 })), { maxLength: 6 }),
      }),
      { minLength: 1, maxLength: 4 },
    ),
    wire: fc.boolean(),
  });
  const scenario = fc.record({
    frames: fc.array(frameArb, { minLength: 1, maxLength: 30 }),
    cuts: fc.array(fc.nat(29), { maxLength: 6 }),
  });
  console.log(`wire-form base property: FC_SEED=${seed}`);
  await fc.assert(
    fc.asyncProperty(scenario, async ({ frames: specs, cuts }) => {
      // The sender: the coordinator's base, encoding each frame against the burst's versions.
      const sender = new PageStore();
      const receiver = new PageStore();
      const root = new MemoryByteStore();
      const { base } = await ClientBase.open(root);
      let senderVersions = new PageVersions((pgno) => sender.readBase(pgno));
      let receiverVersions = new PageVersions((pgno) => receiver.readBase(pgno));
      let burst: Frame[] = [];
      const pending: Frame[] = [];
      for (const [lsn, spec] of specs.entries()) {
        const pages = new Map<number, Uint8Array>();
        for (const edit of spec.edits) {
          if (edit.pgno > spec.pageCount) continue;
          const page =
            pages.get(edit.pgno) ?? (senderVersions.previous(edit.pgno) ?? new Uint8Array(PAGE_SIZE)).slice();
          for (const [offset, value] of edit.at) page[offset] = value;
          pages.set(edit.pgno, page);
        }
        const frame: Frame = {
          lsn,
          pageCount: spec.pageCount,
          pages: [...pages].sort(([a], [b]) => a - b).map(([pgno, data]) => ({ pgno, data })),
        };
        pending.push(frame);
        const wire = senderVersions.encode(frame);
        const received = receiverVersions.decode(wire);
        if (spec.wire) keepWireForm(received, wire);
        burst.push(received);
        if (cuts.includes(lsn) || lsn === specs.length - 1) {
          // The burst ends: both sides fold it into their base, and the receiver records it.
          for (const f of pending.splice(0)) sender.applyFrame(f);
          for (const f of burst) receiver.applyFrame(f);
          base.record({ journalId: 'j', frames: burst, base: receiver.base(), cursor: lsn + 1 });
          burst = [];
          senderVersions = new PageVersions((pgno) => sender.readBase(pgno));
          receiverVersions = new PageVersions((pgno) => receiver.readBase(pgno));
        }
      }
      await base.flushed();
      const { recovered } = await ClientBase.open(root);
      expect(recovered.cursor).toBe(specs.length);
      expect(await recovered.store.hash()).toBe(await receiver.hash());
      expect(await receiver.hash()).toBe(await sender.hash());
    }),
    { seed, numRuns: 60 },
  );
});

test('a frame kept in its wire form takes a small part of its pages on disk', async () => {
  const root = new MemoryByteStore();
  const { base } = await ClientBase.open(root);
  const sender = new PageStore();
  sender.applyFrame({
    lsn: 0,
    pageCount: 3,
    pages: [1, 2, 3].map((pgno) => ({ pgno, data: new Uint8Array(PAGE_SIZE).fill(pgno) })),
  });
  const receiver = new PageStore();
  receiver.applyFrame({ lsn: 0, pageCount: 3, pages: [...sender.pages('base')] });
  base.record({
    journalId: 'j',
    frames: [{ lsn: 0, pageCount: 3, pages: [...sender.pages('base')] }],
    base: receiver.base(),
    cursor: 1,
  });
  await base.flushed();
  const before = await frameLogBytes(root);
  const frames: Frame[] = [];
  const senderVersions = new PageVersions((pgno) => sender.readBase(pgno));
  const receiverVersions = new PageVersions((pgno) => receiver.readBase(pgno));
  for (let lsn = 1; lsn <= 20; lsn++) {
    const data = (senderVersions.previous(2) ?? new Uint8Array(PAGE_SIZE)).slice();
    data[lsn * 8] = lsn;
    const wire = senderVersions.encode({ lsn, pageCount: 3, pages: [{ pgno: 2, data }] });
    const frame = receiverVersions.decode(wire);
    keepWireForm(frame, wire);
    frames.push(frame);
  }
  for (const frame of frames) receiver.applyFrame(frame);
  base.record({ journalId: 'j', frames, base: receiver.base(), cursor: 21 });
  await base.flushed();
  // Twenty one-byte changes of a 4 KiB page: tens of bytes each, where full pages take 82 KB.
  expect((await frameLogBytes(root)) - before).toBeLessThan(20 * 64);
  const { recovered } = await ClientBase.open(root);
  expect(await recovered.store.hash()).toBe(await receiver.hash());
});

/** `count` frames in their wire form after `from`, each changing a byte of page 2 of a 3-page base. */
function smallWireFrames(sender: PageStore, receiver: PageStore, from: number, count: number): Frame[] {
  const frames: Frame[] = [];
  const senderVersions = new PageVersions((pgno) => sender.readBase(pgno));
  const receiverVersions = new PageVersions((pgno) => receiver.readBase(pgno));
  for (let lsn = from; lsn < from + count; lsn++) {
    const data = (senderVersions.previous(2) ?? new Uint8Array(PAGE_SIZE)).slice();
    const at = (lsn * 8) % PAGE_SIZE;
    data[at] = data[at]! ^ 0xff;
    const sent: Frame = { lsn, pageCount: 3, pages: [{ pgno: 2, data }] };
    const wire = senderVersions.encode(sent);
    const frame = receiverVersions.decode(wire);
    keepWireForm(frame, wire);
    sender.applyFrame(sent);
    frames.push(frame);
  }
  return frames;
}

test('small frames are checkpointed by what they take on disk: once per 1000, not once per megabyte of their pages, and each due checkpoint once', async () => {
  const root = new MemoryByteStore();
  const appended = vi.spyOn(root, 'append');
  const { base } = await ClientBase.open(root);
  const sender = new PageStore();
  const receiver = new PageStore();
  const first: Frame = {
    lsn: 0,
    pageCount: 3,
    pages: [1, 2, 3].map((pgno) => ({ pgno, data: new Uint8Array(PAGE_SIZE).fill(pgno) })),
  };
  sender.applyFrame(first);
  receiver.applyFrame(first);
  base.record({ journalId: 'j', frames: [first], base: receiver.base(), cursor: 1 });
  // 1,200 bursts of one frame, recorded without a pause (as a client taking frames fast records them):
  // 4.9 MB of decoded pages, a few bytes each on disk.
  for (const frame of smallWireFrames(sender, receiver, 1, 1200)) {
    receiver.applyFrame(frame);
    base.record({ journalId: 'j', frames: [frame], base: receiver.base(), cursor: frame.lsn + 1 });
  }
  await base.flushed();
  const images = new Set(
    appended.mock.calls.map(([name]) => name).filter((name) => /^base-[0-9a-f]+\.pages\.0+[1-9]/.test(name)),
  );
  expect([...images].map((name) => Number(name.split('.')[2]))).toEqual([1000]);
  const { recovered } = await ClientBase.open(root);
  expect(recovered.cursor).toBe(1201);
  expect(await recovered.store.hash()).toBe(await receiver.hash());
});

async function frameLogBytes(root: MemoryByteStore): Promise<number> {
  let bytes = 0;
  for (const file of (await root.list()).filter((f) => /^base-[0-9a-f]+\.frames\./.test(f)))
    bytes += (await root.read(file))?.length ?? 0;
  return bytes;
}

test('a closed base whose frames since its image changed an eighth of it reopens from an image alone; a smaller change stays in frames', async () => {
  const root = new MemoryByteStore();
  const page = (fill: number) => new Uint8Array(PAGE_SIZE).fill(fill);
  const wide: Frame = {
    lsn: 0,
    pageCount: 40,
    pages: Array.from({ length: 40 }, (_, i) => ({ pgno: i + 1, data: page(i) })),
  };
  const small: Frame = { lsn: 1, pageCount: 40, pages: [{ pgno: 7, data: page(200) }] };
  const live = new PageStore();
  const framesOnDisk = async () =>
    (await root.list()).filter((f) => /^base-[0-9a-f]+\.frames\./.test(f)).length;

  const first = (await ClientBase.open(root)).base;
  live.applyFrame(wide);
  first.record({ journalId: 'j', frames: [wide], base: live.base(), cursor: 1 });
  await first.close();
  expect(await framesOnDisk()).toBe(0);
  const reopened = await ClientBase.open(root);
  expect(reopened.recovered.cursor).toBe(1);
  expect(await reopened.recovered.store.hash()).toBe(await live.hash());

  live.applyFrame(small);
  reopened.base.record({ journalId: 'j', frames: [small], base: live.base(), cursor: 2 });
  await reopened.base.close();
  expect(await framesOnDisk()).toBeGreaterThan(0);
  const { recovered } = await ClientBase.open(root);
  expect(recovered.cursor).toBe(2);
  expect(await recovered.store.hash()).toBe(await live.hash());
});

test('a base left quiet after a burst is checkpointed without a close (an unclean exit then reopens from the image)', async () => {
  const root = new MemoryByteStore();
  const { base } = await ClientBase.open(root);
  const frames = history(5, 3);
  const live = storeAfter(frames);
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  try {
    base.record({ journalId: 'j', frames, base: live.base(), cursor: 3 });
    vi.advanceTimersByTime(SETTLE_MS - 1);
    await base.flushed();
    const logs = async () => (await root.list()).filter((f) => /^base-[0-9a-f]+\.frames\./.test(f));
    expect(await logs()).not.toEqual([]);
    vi.advanceTimersByTime(1);
    await base.flushed();
    expect(await logs()).toEqual([]);
  } finally {
    vi.useRealTimers();
  }
  const { recovered } = await ClientBase.open(root);
  expect(recovered.cursor).toBe(3);
  expect(await recovered.store.hash()).toBe(await live.hash());
});

test('bursts that keep coming put the quiet checkpoint off until SETTLE_MS after the last of them', async () => {
  const root = new MemoryByteStore();
  const { base } = await ClientBase.open(root);
  const frames = history(5, 4);
  const live = storeAfter(frames);
  const logs = async () => (await root.list()).filter((f) => /^base-[0-9a-f]+\.frames\./.test(f));
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  try {
    for (const [i, frame] of frames.entries()) {
      base.record({ journalId: 'j', frames: [frame], base: live.base(), cursor: i + 1 });
      vi.advanceTimersByTime(SETTLE_MS / 2);
    }
    // SETTLE_MS / 2 after the last burst, 2 × SETTLE_MS after the first: not quiet yet.
    await base.flushed();
    expect(await logs()).not.toEqual([]);
    vi.advanceTimersByTime(SETTLE_MS / 2 - 1);
    await base.flushed();
    expect(await logs()).not.toEqual([]);
    vi.advanceTimersByTime(1);
    await base.flushed();
    expect(await logs()).toEqual([]);
  } finally {
    vi.useRealTimers();
  }
  const { recovered } = await ClientBase.open(root);
  expect(recovered.cursor).toBe(4);
  expect(await recovered.store.hash()).toBe(await live.hash());
});
