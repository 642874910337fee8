import fc from 'fast-check';
import { expect, test } from 'vitest';
import { TandemError } from '../errors.js';
import type { Frame } from '../frame.js';
import { PAGE_SIZE } from '../vfs/page-store.js';
import type { ByteStore } from './byte-store.js';
import { crc32c } from './crc32c.js';
import { DocumentJournal, rebuildStore } from './document-journal.js';
import { MemoryByteStore } from './memory-byte-store.js';

const SEED = Number(process.env.FC_SEED ?? 20261204);
const FRAMES = 40;
const OPTIONS = { syncMarks: true, segmentBytes: 3 * (PAGE_SIZE + 40), timelineId: 'damaged-journal' };

function frame(lsn: number): Frame {
  const data = new Uint8Array(PAGE_SIZE).fill(lsn % 251);
  return { lsn, pageCount: 4, pages: [{ pgno: 1 + (lsn % 4), data }] };
}

/** A journal that synced FRAMES frames, checkpointed at 25, and was reopened once (two generations). */
async function syncedJournal(): Promise<{ store: MemoryByteStore; hash: string }> {
  const store = new MemoryByteStore();
  const first = await DocumentJournal.open(store, OPTIONS);
  for (let lsn = 0; lsn < 30; lsn++) {
    first.journal.appendFrame(frame(lsn));
    if (lsn % 4 === 0) await first.journal.sync();
  }
  await first.journal.sync();
  // As a clean close does: its marks are written (a mark follows its sync by a turn).
  await first.journal.marked();
  const frames = Array.from({ length: 25 }, (_, lsn) => frame(lsn));
  await first.journal.checkpoint(rebuildStore({ image: undefined, frames }), 25);
  const second = await DocumentJournal.open(store, OPTIONS);
  for (let lsn = 30; lsn < FRAMES; lsn++) second.journal.appendFrame(frame(lsn));
  await second.journal.sync();
  await second.journal.marked();
  const all = Array.from({ length: FRAMES }, (_, lsn) => frame(lsn));
  return { store, hash: await rebuildStore({ image: undefined, frames: all }).hash() };
}

async function copyOf(store: ByteStore): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for (const name of (await store.list()).sort()) files.set(name, (await store.read(name))!);
  return files;
}

/** Each file's name, length and CRC: what a refusal must leave as it was (cheap to compare). */
function fingerprint(files: ReadonlyMap<string, Uint8Array>): string[] {
  return [...files].map(([name, bytes]) => `${name}:${bytes.length}:${crc32c(bytes)}`).sort();
}

async function storeOf(files: ReadonlyMap<string, Uint8Array>): Promise<MemoryByteStore> {
  const store = new MemoryByteStore();
  for (const [name, bytes] of files) {
    await store.append(name, bytes);
    await store.sync(name);
  }
  return store;
}

type Damage =
  | { readonly kind: 'flip'; readonly at: number }
  | { readonly kind: 'cut'; readonly at: number }
  | { readonly kind: 'delete' };

const damage: fc.Arbitrary<{ file: number; damage: Damage }> = fc.record({
  file: fc.nat(),
  damage: fc.oneof(
    fc.record({
      kind: fc.constant('flip' as const),
      at: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
    }),
    fc.record({
      kind: fc.constant('cut' as const),
      at: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
    }),
    fc.record({ kind: fc.constant('delete' as const) }),
  ),
});

const baseline = await syncedJournal();
const files = await copyOf(baseline.store);

test(`with sync marks, one damaged, cut or deleted file of a synced journal is recovered whole or refused as storage-corrupt naming it, and a refusal changes nothing (FC_SEED=${SEED})`, async () => {
  const names = [...files.keys()];
  expect(names.filter((n) => n.startsWith('frames.')).length).toBeGreaterThan(3);
  const outcomes = { whole: 0, refused: 0 };
  await fc.assert(
    fc.asyncProperty(damage, async ({ file, damage: d }) => {
      const name = names[file % names.length]!;
      const damaged = new Map(files);
      const bytes = files.get(name)!;
      if (d.kind === 'delete') damaged.delete(name);
      else if (d.kind === 'cut') damaged.set(name, bytes.slice(0, Math.floor(d.at * bytes.length)));
      else {
        const flipped = bytes.slice();
        const at = Math.floor(d.at * bytes.length);
        flipped[at] = flipped[at]! ^ 0x10;
        damaged.set(name, flipped);
      }
      const store = await storeOf(damaged);
      try {
        const { recovered } = await DocumentJournal.open(store, OPTIONS);
        expect((recovered.image?.frameCount ?? 0) + recovered.frames.length, name).toBe(FRAMES);
        expect(await rebuildStore(recovered).hash(), name).toBe(baseline.hash);
        expect(recovered.timelineId, name).toBe(OPTIONS.timelineId);
        outcomes.whole++;
      } catch (error) {
        if (!(error instanceof TandemError) || error.kind !== 'storage-corrupt') throw error;
        expect(error.fields.framesExpected).toBe(FRAMES);
        expect(error.fields.framesReadable).toBeLessThan(FRAMES);
        expect(error.message).toContain(String(error.fields.file));
        expect(fingerprint(await copyOf(store)), 'a refusal changes nothing').toEqual(fingerprint(damaged));
        outcomes.refused++;
      }
    }),
    { seed: SEED, numRuns: 300 },
  );
  expect(outcomes.refused).toBeGreaterThan(0);
  expect(outcomes.whole).toBeGreaterThan(0);
}, 120_000);

test('a journal whose identity file is damaged takes its identity back from the sync marks', async () => {
  const identity = [...files.keys()].find((n) => n.startsWith('identity.'))!;
  const damaged = new Map(files);
  damaged.set(identity, files.get(identity)!.slice(0, 3));
  const { recovered } = await DocumentJournal.open(await storeOf(damaged), {
    ...OPTIONS,
    timelineId: 'another',
  });
  expect(recovered.timelineId).toBe(OPTIONS.timelineId);
});

test('inspect reports the damage open would refuse, and changes nothing', async () => {
  const last = [...files.keys()].filter((n) => n.startsWith('frames.')).at(-1)!;
  const damaged = new Map(files);
  damaged.delete(last);
  const store = await storeOf(damaged);
  const inspection = await DocumentJournal.inspect(store);
  expect(inspection.framesExpected).toBe(FRAMES);
  expect(inspection.framesReadable).toBeLessThan(FRAMES);
  expect(inspection.damage?.kind).toBe('storage-corrupt');
  await expect(DocumentJournal.open(store, OPTIONS)).rejects.toMatchObject({ kind: 'storage-corrupt' });
  expect(fingerprint(await copyOf(store))).toEqual(fingerprint(damaged));
});

/** A store whose syncs of marks files wait until `release` is called. */
class HeldMarksStore extends MemoryByteStore {
  held = 0;
  #gate: Promise<void> = Promise.resolve();
  #open: () => void = () => undefined;

  hold(): void {
    this.#gate = new Promise((resolve) => {
      this.#open = resolve;
    });
  }

  release(): void {
    this.#open();
  }

  override async sync(name: string): Promise<void> {
    if (name.startsWith('marks.')) {
      this.held++;
      await this.#gate;
      this.held--;
    }
    await super.sync(name);
  }
}

test('a sync resolves once its frames are durable, its mark written behind it: once marked, losing a synced frame is refused', async () => {
  const store = new HeldMarksStore();
  const { journal } = await DocumentJournal.open(store, OPTIONS);
  store.hold();
  for (let lsn = 0; lsn < 3; lsn++) journal.appendFrame(frame(lsn));
  // Resolves while the mark's sync is held: an acknowledgement waits for one fsync, not two.
  await journal.sync();
  await new Promise((resolve) => setTimeout(resolve, 0));
  expect(store.held).toBe(1);
  let marked = false;
  const marking = journal.marked().then(() => {
    marked = true;
  });
  // Marks asked for meanwhile are coalesced into the next write.
  for (let lsn = 3; lsn < 6; lsn++) {
    journal.appendFrame(frame(lsn));
    await journal.sync();
  }
  expect(marked).toBe(false);
  store.release();
  await marking;
  await journal.marked();
  expect(store.held).toBe(0);

  // Every synced frame is demanded now: one lost is refused, not served shorter.
  const files = await copyOf(store);
  const segment = [...files.keys()]
    .filter((name) => name.startsWith('frames.'))
    .sort()
    .at(-1)!;
  const cut = await storeOf(files);
  const bytes = files.get(segment)!;
  await cut.delete(segment);
  await cut.append(segment, bytes.subarray(0, bytes.length - 100));
  await cut.sync(segment);
  await expect(DocumentJournal.open(cut, OPTIONS)).rejects.toMatchObject({ kind: 'storage-corrupt' });
});
