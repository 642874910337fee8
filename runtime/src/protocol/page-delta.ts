// A page on the wire: deflate-raw of the page XOR its previous version (zeros for a page the receiver
// does not hold), so a page that changed by a few bytes costs a few dozen bytes, not PAGE_SIZE.
//
// Invariants:
// 1. The previous version is the receiver's: the page as it stood before the frame that carries the
//    delta (frames apply in lsn order without gaps, so every receiver holds it). Within one burst that
//    is the base page overlaid with the earlier frames of the burst; a page beyond the smallest page
//    count seen since the base (the file was cut below it) has no previous version.
// 2. A delta is at most MAX_DELTA_BYTES and inflates to exactly PAGE_SIZE: the decoder refuses
//    anything else with a ProtocolError, and never holds more than PAGE_SIZE + 1 bytes of output.
// 3. Synchronous on every host (deflate.ts): a frame decodes in one call, not one stream per page.
import { InflateError, rawDeflate } from '../deflate.js';
import type { Frame, FramePage } from '../frame.js';
import { PAGE_SIZE } from '../vfs/page-store.js';
import { ProtocolError } from './codec.js';
import type { WireFrame } from './common.js';
import { MAX_DELTA_BYTES } from './limits.js';

/** The page a receiver holds at `pgno`, or undefined when it holds none. */
export type PageReader = (pgno: number) => Uint8Array | undefined;

export function encodePageDelta(previous: Uint8Array | undefined, next: Uint8Array): Uint8Array {
  if (next.length !== PAGE_SIZE) throw new RangeError(`a page is ${PAGE_SIZE} bytes, not ${next.length}`);
  const xored = next.slice();
  if (previous !== undefined) for (let i = 0; i < PAGE_SIZE; i++) xored[i]! ^= previous[i]!;
  return rawDeflate.deflate(xored);
}

export function decodePageDelta(previous: Uint8Array | undefined, delta: Uint8Array): Uint8Array {
  if (delta.length > MAX_DELTA_BYTES) {
    throw new ProtocolError('oversized', `a page delta of ${delta.length} bytes exceeds ${MAX_DELTA_BYTES}`);
  }
  let page: Uint8Array;
  try {
    page = rawDeflate.inflate(delta, PAGE_SIZE);
  } catch (error) {
    if (!(error instanceof InflateError)) throw error;
    if (error.kind === 'too-large')
      throw new ProtocolError('oversized', `a page delta inflates past ${PAGE_SIZE} bytes`);
    throw new ProtocolError('malformed', 'a page delta is not deflate-raw');
  }
  if (page.length !== PAGE_SIZE) {
    throw new ProtocolError('malformed', `a page delta inflates to ${page.length} bytes, not ${PAGE_SIZE}`);
  }
  if (previous !== undefined) for (let i = 0; i < PAGE_SIZE; i++) page[i]! ^= previous[i]!;
  return page;
}

/** `frame` as it travels: `previous` holds the receiver's version of each of its pages, in order. */
export function encodeWireFrame(frame: Frame, previous: readonly (Uint8Array | undefined)[]): WireFrame {
  const pages = frame.pages.map((page, i) => ({
    pgno: page.pgno,
    delta: encodePageDelta(previous[i], page.data),
  }));
  return { lsn: frame.lsn, pageCount: frame.pageCount, pages };
}

/**
 * Folds frames over pages held elsewhere (a receiver's base) in lsn order, keeping each page's latest
 * version (invariant 1): `previous` is the version a frame's page is encoded against, `apply` records
 * the frame.
 */
export class PageVersions {
  readonly #base: PageReader;
  readonly #latest = new Map<number, Uint8Array>();
  /** The smallest page count since the base: base pages above it were cut. */
  #cut = Number.POSITIVE_INFINITY;

  constructor(base: PageReader) {
    this.#base = base;
  }

  previous(pgno: number): Uint8Array | undefined {
    return this.#latest.get(pgno) ?? (pgno <= this.#cut ? this.#base(pgno) : undefined);
  }

  apply(frame: { readonly pageCount: number; readonly pages: readonly FramePage[] }): void {
    for (const pgno of this.#latest.keys()) if (pgno > frame.pageCount) this.#latest.delete(pgno);
    this.#cut = Math.min(this.#cut, frame.pageCount);
    for (const page of frame.pages) this.#latest.set(page.pgno, page.data);
  }

  /** Decodes `wire` against the versions held, and applies it. */
  decode(wire: WireFrame): Frame {
    const pages = wire.pages.map((page) => ({
      pgno: page.pgno,
      data: decodePageDelta(this.previous(page.pgno), page.delta),
    }));
    const frame: Frame = { lsn: wire.lsn, pageCount: wire.pageCount, pages };
    this.apply(frame);
    return frame;
  }

  /** Encodes `frame` against the versions held, and applies it. */
  encode(frame: Frame): WireFrame {
    const previous = frame.pages.map((page) => this.previous(page.pgno));
    this.apply(frame);
    return encodeWireFrame(frame, previous);
  }
}
