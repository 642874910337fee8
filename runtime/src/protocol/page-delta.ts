// A page on the wire (protocol v4): the page as a change to its previous version (zeros for a page the
// receiver does not hold), so a page that changed by a few bytes costs a few bytes, not PAGE_SIZE.
// A delta is one encoding byte, then its body:
//   0 `runs`:         the page XOR its previous version, as runs: (varint gap, varint length ≥ 1,
//                     length bytes)*, each gap counted from the end of the run before; bytes outside
//                     every run are unchanged. A counter bumped in page 1 costs ~6 bytes.
//   1 `deflated-runs`: deflate-raw of the runs, for pages that changed much.
//   2 `dictionary`:   deflate-raw of the page itself, its dictionary the previous versions of the
//                     frame's other pages (in frame order, those the receiver holds; only in a frame of
//                     at most DICTIONARY_NEIGHBOURS + 1 pages, which fill deflate's window) then its own: rows shifted inside a page (a B-tree cell inserted mid-page
//                     moves the cell pointers after it) or moved between pages (a split fills a new page
//                     with its sibling's cells) are matches against old pages, where XOR sees noise.
// The encoder keeps the smallest of those it tries (deflated runs are skipped where a dictionary delta
// already halves the runs); the decoder reads whichever it gets.
//
// Invariants:
// 1. The previous version is the receiver's: the page as it stood before the frame that carries the
//    delta (frames apply in lsn order without gaps, so every receiver holds it). Within one burst that
//    is the base page overlaid with the earlier frames of the burst; a page beyond the smallest page
//    count seen since the base (the file was cut below it) has no previous version.
// 2. A delta is at most MAX_DELTA_BYTES and gives exactly one page: the decoder refuses anything else
//    (an unknown encoding, a run past the page's end, a varint cut short, runs inflating past
//    MAX_RUNS_BYTES, a dictionary page of another length) with a ProtocolError, and never holds more
//    output than MAX_RUNS_BYTES + 1.
// 3. Synchronous on every host (deflate.ts): a frame decodes in one call, not one stream per page.
// 4. A decoded page may be its previous version's own array (a delta of no runs): pages given to or
//    returned by this module are never changed in place (page-store.ts invariant 2).
import { InflateError, type RawDeflate, rawDeflate } from '../deflate.js';
import type { Frame, FramePage } from '../frame.js';
import { PAGE_SIZE } from '../vfs/page-store.js';
import type { WireFrame } from './common.js';
import { MAX_DELTA_BYTES } from './limits.js';
import { ProtocolError } from './protocol-error.js';

/** The page a receiver holds at `pgno`, or undefined when it holds none. */
export type PageReader = (pgno: number) => Uint8Array | undefined;

/** A delta's first byte. */
export const DELTA_ENCODINGS = ['runs', 'deflated-runs', 'dictionary'] as const;
const RUNS = 0;
const DEFLATED_RUNS = 1;
const DICTIONARY = 2;
/**
 * The most a page's runs can take: runs of one byte between gaps of one, three bytes per two of the
 * page. The encoder's runs are shorter (it merges runs closer than MERGE_GAP).
 */
export const MAX_RUNS_BYTES = (PAGE_SIZE / 2) * 3 + 8;
/** Zero bytes a run swallows rather than end: a new run costs two varints. */
const MERGE_GAP = 3;
/**
 * Runs this short are sent as they are: deflate would not beat them by more than a few bytes, and each
 * attempt costs the coordinator a zlib stream (a dictionary one hashes up to 32 KiB). On todo creates and
 * toggles over 1000 rows, 96 rather than 48 skipped half the attempts for +0.3 B per frame.
 */
const SMALL_RUNS = 96;
/**
 * Other pages in a `dictionary` delta's dictionary: with its own, 8 pages fill deflate's 32 KiB window.
 * A frame of more pages (a group of many mutations) uses its own previous version alone: bytes per
 * mutation are small there anyway, and a 32 KiB dictionary per page would cost the coordinator more.
 */
export const DICTIONARY_NEIGHBOURS = 7;
/** Deflated runs are tried only when the best delta so far is more than 1/this of the runs. */
const DEFLATED_RUNS_WORTH = 2;

/**
 * `next` as a delta against `previous`; `neighbours` are the previous versions of the frame's other
 * pages that the receiver holds, in frame order.
 */
export function encodePageDelta(
  previous: Uint8Array | undefined,
  next: Uint8Array,
  deflate: RawDeflate = rawDeflate,
  neighbours: readonly Uint8Array[] = [],
): Uint8Array {
  if (next.length !== PAGE_SIZE) throw new RangeError(`a page is ${PAGE_SIZE} bytes, not ${next.length}`);
  const runs = xorRuns(previous, next);
  if (runs.length <= SMALL_RUNS) return tagged(RUNS, runs);
  let best = tagged(RUNS, runs);
  const context = dictionaryOf(previous, neighbours);
  if (context !== undefined) {
    const dictionary = tagged(DICTIONARY, deflate.deflate(next, context));
    if (dictionary.length < best.length) best = dictionary;
  }
  // Each attempt is a zlib stream set up and torn down (50-200 µs of the coordinator's CPU, mostly the
  // setup). Deflated runs are rarely under 60% of the runs, so they are not tried against a dictionary
  // delta of half the runs or less: on 692 todo-create pages this skipped 499 of 1383 attempts, and the
  // deltas came to the same 52,347 bytes.
  if (best.length * DEFLATED_RUNS_WORTH > runs.length) {
    const deflated = tagged(DEFLATED_RUNS, deflate.deflate(runs));
    if (deflated.length < best.length) best = deflated;
  }
  return best;
}

/** Decodes what encodePageDelta made from the same `previous` and `neighbours`. */
export function decodePageDelta(
  previous: Uint8Array | undefined,
  delta: Uint8Array,
  deflate: RawDeflate = rawDeflate,
  neighbours: readonly Uint8Array[] = [],
): Uint8Array {
  if (delta.length > MAX_DELTA_BYTES) {
    throw new ProtocolError('oversized', `a page delta of ${delta.length} bytes exceeds ${MAX_DELTA_BYTES}`);
  }
  const body = delta.subarray(1);
  switch (delta[0]) {
    case RUNS:
      // A page the frame holds with the same bytes (page 1 in 599 of 600 frames of one todo create each)
      // is its previous version, uncopied (invariant 4): the copy was a 4 KiB allocation per frame.
      if (body.length === 0 && previous?.length === PAGE_SIZE) return previous;
      return applyRuns(previous, body);
    case DEFLATED_RUNS:
      return applyRuns(previous, inflate(deflate, body, MAX_RUNS_BYTES));
    case DICTIONARY: {
      const page = inflate(deflate, body, PAGE_SIZE, dictionaryOf(previous, neighbours));
      if (page.length !== PAGE_SIZE) {
        throw new ProtocolError(
          'malformed',
          `a page delta inflates to ${page.length} bytes, not ${PAGE_SIZE}`,
        );
      }
      return page;
    }
    default:
      throw new ProtocolError('malformed', `unknown page delta encoding ${delta[0]}`);
  }
}

/**
 * Where a dictionary of several pages is laid out. Deflate and inflate are synchronous and keep nothing
 * of it, so one buffer serves every call: a fresh one cost 16–32 KiB per `dictionary` page, on the
 * coordinator that encodes each frame and on every client that decodes it.
 */
const dictionaryScratch = new Uint8Array((DICTIONARY_NEIGHBOURS + 1) * PAGE_SIZE);

/**
 * A `dictionary` delta's dictionary; undefined for none (a page with nothing before it, alone). Valid
 * until the next call (it may be the shared scratch).
 */
function dictionaryOf(
  previous: Uint8Array | undefined,
  neighbours: readonly Uint8Array[],
): Uint8Array | undefined {
  const count = Math.min(neighbours.length, DICTIONARY_NEIGHBOURS) + (previous === undefined ? 0 : 1);
  if (count === 0) return undefined;
  if (count === 1) return previous ?? neighbours[0];
  for (let i = 0; i < count; i++) {
    const page = i < count - 1 || previous === undefined ? neighbours[i]! : previous;
    dictionaryScratch.set(page, i * PAGE_SIZE);
  }
  return dictionaryScratch.subarray(0, count * PAGE_SIZE);
}

function tagged(encoding: number, body: Uint8Array): Uint8Array {
  const delta = new Uint8Array(1 + body.length);
  delta[0] = encoding;
  delta.set(body, 1);
  return delta;
}

function inflate(deflate: RawDeflate, body: Uint8Array, limit: number, dictionary?: Uint8Array): Uint8Array {
  try {
    return deflate.inflate(body, limit, dictionary);
  } catch (error) {
    if (!(error instanceof InflateError)) throw error;
    if (error.kind === 'too-large') {
      throw new ProtocolError('oversized', `a page delta inflates past ${limit} bytes`);
    }
    throw new ProtocolError('malformed', 'a page delta is not deflate-raw');
  }
}

/** Where runs are built before they are copied out (encoding is synchronous: one at a time). */
const scratch = new Uint8Array(MAX_RUNS_BYTES);
/** The previous version of a page the receiver does not hold. */
const ZEROS = new Uint8Array(PAGE_SIZE);
const NO_NEIGHBOURS: readonly Uint8Array[] = [];

/** 32-bit words over `page` when it is aligned to them (a view into a larger buffer may not be). */
function wordsOf(page: Uint8Array): Uint32Array | undefined {
  return page.byteOffset % 4 === 0 ? new Uint32Array(page.buffer, page.byteOffset, PAGE_SIZE / 4) : undefined;
}

/**
 * `next` XOR `previous` as runs (the `runs` encoding's body). Most of a page is unchanged: equal words
 * are skipped four bytes at a time (a byte-by-byte scan of every page was most of a frame's encoding).
 */
function xorRuns(previous: Uint8Array | undefined, next: Uint8Array): Uint8Array {
  const out = scratch;
  const before = previous ?? ZEROS;
  const nextWords = wordsOf(next);
  const beforeWords = wordsOf(before);
  let length = 0;
  const varint = (value: number): void => {
    while (value >= 0x80) {
      out[length++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    out[length++] = value;
  };
  let end = 0;
  let i = 0;
  while (i < PAGE_SIZE) {
    if (nextWords !== undefined && beforeWords !== undefined) {
      while (i < PAGE_SIZE && (i & 3) === 0 && nextWords[i >> 2] === beforeWords[i >> 2]) i += 4;
      if (i >= PAGE_SIZE) break;
    }
    if (next[i] === before[i]) {
      i++;
      continue;
    }
    let last = i;
    let j = i + 1;
    while (j < PAGE_SIZE && j - last <= MERGE_GAP) {
      if (next[j] !== before[j]) last = j;
      j++;
    }
    varint(i - end);
    varint(last + 1 - i);
    for (let k = i; k <= last; k++) out[length++] = next[k]! ^ before[k]!;
    end = last + 1;
    i = end;
  }
  return out.slice(0, length);
}

/** `previous` (or zeros) with `runs` XORed in; a malformed body is a ProtocolError (invariant 2). */
function applyRuns(previous: Uint8Array | undefined, runs: Uint8Array): Uint8Array {
  const page = previous === undefined ? new Uint8Array(PAGE_SIZE) : previous.slice();
  if (page.length !== PAGE_SIZE) throw new RangeError(`a page is ${PAGE_SIZE} bytes, not ${page.length}`);
  let offset = 0;
  let at = 0;
  const varint = (): number => {
    let value = 0;
    for (let shift = 0; shift < 21; shift += 7) {
      if (offset >= runs.length) throw new ProtocolError('malformed', 'a page delta run is cut short');
      const byte = runs[offset++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    throw new ProtocolError('malformed', 'a page delta varint is too long');
  };
  while (offset < runs.length) {
    at += varint();
    const length = varint();
    if (length === 0 || at + length > PAGE_SIZE || offset + length > runs.length) {
      throw new ProtocolError('malformed', 'a page delta run lies outside the page or the delta');
    }
    for (let k = 0; k < length; k++) page[at + k]! ^= runs[offset + k]!;
    offset += length;
    at += length;
  }
  return page;
}

/** `frame` as it travels: `previous` holds the receiver's version of each of its pages, in order. */
export function encodeWireFrame(frame: Frame, previous: readonly (Uint8Array | undefined)[]): WireFrame {
  const pages = frame.pages.map((page, i) => ({
    pgno: page.pgno,
    delta: encodePageDelta(previous[i], page.data, rawDeflate, neighboursOf(previous, i)),
  }));
  return { lsn: frame.lsn, pageCount: frame.pageCount, pages };
}

/** The previous versions of a frame's pages other than the `index`th, those the receiver holds. */
function neighboursOf(previous: readonly (Uint8Array | undefined)[], index: number): Uint8Array[] {
  const neighbours: Uint8Array[] = [];
  if (previous.length > DICTIONARY_NEIGHBOURS + 1) return neighbours;
  for (let i = 0; i < previous.length; i++) {
    const page = previous[i];
    if (i !== index && page !== undefined) neighbours.push(page);
  }
  return neighbours;
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
    const previous = wire.pages.map((page) => this.previous(page.pgno));
    const pages = wire.pages.map((page, i) => ({
      pgno: page.pgno,
      // Only a `dictionary` delta reads the neighbours: the others skip gathering them.
      data: decodePageDelta(
        previous[i],
        page.delta,
        rawDeflate,
        page.delta[0] === DICTIONARY ? neighboursOf(previous, i) : NO_NEIGHBOURS,
      ),
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
