// Invariant 9 of the page store: arrays it drops are reused for later pages only when nobody outside it
// holds them. Model-based: whatever writes, reads, peeks, commits (kept or given back), truncations,
// discards, folds and frames, every array a caller holds keeps its bytes, and the visible file is what a
// plain model of invariant 1 says.
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { PAGE_SIZE, PageStore } from './page-store.js';

function fcSeed(): number {
  const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env;
  return Number(env?.FC_SEED ?? Date.now() % 2 ** 31);
}

const page = (fill: number) => new Uint8Array(PAGE_SIZE).fill(fill);
const pgno = fc.integer({ min: 1, max: 9 });

type Op =
  | { readonly kind: 'write'; readonly pgno: number; readonly fill: number }
  | { readonly kind: 'read'; readonly pgno: number }
  | { readonly kind: 'peek'; readonly pgno: number }
  | { readonly kind: 'commit'; readonly keep: boolean }
  | { readonly kind: 'truncate'; readonly count: number }
  | { readonly kind: 'discard' }
  | { readonly kind: 'fold' }
  | {
      readonly kind: 'frame';
      readonly count: number;
      readonly pgnos: readonly number[];
      readonly fill: number;
    };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('write' as const), pgno, fill: fc.nat(255) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('read' as const), pgno }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('peek' as const), pgno }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('commit' as const), keep: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), count: fc.nat(9) }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'discard' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'fold' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('frame' as const),
      count: fc.nat(9),
      pgnos: fc.array(pgno),
      fill: fc.nat(255),
    }),
  },
);

/** Invariant 1 as plainly as it reads: the fill byte of every visible page. */
class Model {
  base = new Map<number, number>();
  basePageCount = 0;
  overlay = new Map<number, number>();
  overlayPageCount: number | undefined;
  cut: number | undefined;

  get pageCount(): number {
    return this.overlayPageCount ?? this.basePageCount;
  }

  visible(p: number): number | undefined {
    if (p > this.pageCount) return undefined;
    return this.overlay.get(p) ?? (this.cut !== undefined && p > this.cut ? undefined : this.base.get(p));
  }

  write(p: number, fill: number): void {
    this.overlayPageCount = Math.max(this.pageCount, p);
    this.overlay.set(p, fill);
  }

  truncate(count: number): void {
    if (count < this.pageCount) {
      for (const p of this.overlay.keys()) if (p > count) this.overlay.delete(p);
      this.cut = Math.min(this.cut ?? count, count);
    }
    if (count !== this.pageCount) this.overlayPageCount = count;
  }

  discard(): void {
    this.overlay.clear();
    this.overlayPageCount = undefined;
    this.cut = undefined;
  }

  fold(): void {
    const count = this.pageCount;
    const next = new Map<number, number>();
    for (let p = 1; p <= count; p++) {
      const fill = this.visible(p);
      if (fill !== undefined) next.set(p, fill);
    }
    this.base = next;
    this.basePageCount = count;
    this.discard();
  }

  frame(count: number, pages: readonly { readonly pgno: number; readonly fill: number }[]): void {
    for (const p of this.base.keys()) if (p > count) this.base.delete(p);
    for (const { pgno: p, fill } of pages) this.base.set(p, fill);
    this.basePageCount = count;
  }
}

function fillOf(bytes: Uint8Array | undefined): number | undefined {
  if (bytes === undefined) return undefined;
  const fill = bytes[0]!;
  return bytes.every((b) => b === fill) ? fill : -1;
}

test('an array the store handed out keeps its bytes, whatever the store reuses, and the file stays what was written', () => {
  const seed = fcSeed();
  try {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 60 }), (ops) => {
        const store = new PageStore();
        const model = new Model();
        /** Arrays callers hold, with the fill they had when handed out. */
        const held: { readonly bytes: Uint8Array; readonly fill: number | undefined }[] = [];
        const hold = (bytes: Uint8Array | undefined) => {
          if (bytes !== undefined) held.push({ bytes, fill: fillOf(bytes) });
        };
        for (const step of ops) {
          switch (step.kind) {
            case 'write':
              store.write(step.pgno, page(step.fill));
              model.write(step.pgno, step.fill);
              break;
            case 'read':
              hold(store.read(step.pgno));
              break;
            case 'peek':
              // Copied at once and not kept: what the VFS does.
              expect(fillOf(store.peek(step.pgno))).toBe(model.visible(step.pgno));
              break;
            case 'commit': {
              // What the capture VFS hands a commit's listener: the dirty pages' own arrays.
              const pages = store.framePages();
              store.clearDirty();
              if (step.keep) for (const { data } of pages) hold(data);
              else store.release(pages);
              break;
            }
            case 'truncate':
              store.truncate(step.count);
              model.truncate(step.count);
              break;
            case 'discard':
              store.discardOverlay();
              model.discard();
              break;
            case 'fold':
              store.foldOverlay();
              model.fold();
              break;
            case 'frame': {
              if (store.hasOverlay) {
                store.discardOverlay();
                model.discard();
              }
              const pgnos = [...new Set(step.pgnos)].filter((p) => p <= step.count);
              store.applyFrame({
                pageCount: step.count,
                pages: pgnos.map((p) => ({ pgno: p, data: page(step.fill) })),
              });
              model.frame(
                step.count,
                pgnos.map((p) => ({ pgno: p, fill: step.fill })),
              );
              break;
            }
          }
          for (const { bytes, fill } of held)
            expect(fillOf(bytes), `a held array after ${JSON.stringify(step)}`).toBe(fill);
          expect(store.pageCount).toBe(model.pageCount);
          for (let p = 1; p <= 10; p++) {
            expect(fillOf(store.peek(p)), `page ${p} after ${JSON.stringify(step)}`).toBe(model.visible(p));
          }
        }
      }),
      { seed, numRuns: 300 },
    );
  } catch (error) {
    throw new Error(`page store reuse model failed; replay with FC_SEED=${seed}`, { cause: error });
  }
});

test("a rebase's writes land in the arrays the dropped overlay held when nobody kept them", () => {
  const store = new PageStore();
  for (let p = 1; p <= 3; p++) store.write(p, page(p));
  const frame = store.framePages();
  store.clearDirty();
  store.release(frame);
  const dropped = new Set(frame.map((f) => f.data));
  store.discardOverlay();
  for (let p = 1; p <= 3; p++) store.write(p, page(10 + p));
  for (let p = 1; p <= 3; p++) {
    expect(dropped.has(store.peek(p)!)).toBe(true);
    expect(fillOf(store.peek(p))).toBe(10 + p);
  }
});

test('an array read from the overlay is never reused, even after the overlay dropped it or a frame gave it back', () => {
  const store = new PageStore();
  store.write(1, page(1));
  const held = store.read(1)!;
  store.release(store.framePages());
  store.write(1, page(2));
  store.discardOverlay();
  store.write(1, page(3));
  store.write(2, page(4));
  expect(store.peek(1)).not.toBe(held);
  expect(store.peek(2)).not.toBe(held);
  expect(fillOf(held)).toBe(1);
});
