// One document's durable storage over a ByteStore: the page file (the latest checkpoint, a page
// image), the frame log (frames after it) and the timeline (this client's pending mutations).
//
// Invariants:
// 1. Recovery loads the newest whole image (checkpoint or snapshot), then the gap-free run of frames
//    that follows it: the result is the database after some prefix of the frames ever appended, and it
//    contains every frame whose `sync` had resolved.
// 2. A checkpoint never opens a window for loss: the new image is complete and synced before any frame
//    it folds in, or any older image, is deleted; until then recovery uses the old image and the frames.
// 3. Only files of this open's generation are ever written (see file-names.ts), so a crash's leftovers
//    (torn tails, incomplete images, files a crash brought back) are read, never appended to.
// 4. After a failed write or sync, the journal refuses further work: reopen it to recover.

import { concatBytes } from '../bytes.js';
import { TandemError } from '../errors.js';
import type { Frame } from '../frame.js';
import { PageVersions } from '../protocol/page-delta.js';
import { ProtocolError } from '../protocol/protocol-error.js';
import type { MutationEnvelope } from '../reducer/host.js';
import { encodeMutation } from '../timeline-codec.js';
import { PageStore } from '../vfs/page-store.js';
import type { ByteStore } from './byte-store.js';
import { formatFileName, nextGeneration, parseFileName } from './file-names.js';
import {
  decodeFrameRecord,
  decodeWireFrameRecord,
  encodeFrameRecord,
  encodeWireFrameRecord,
  FrameRecordError,
  keepWireForm,
  wireFormOf,
} from './frame-record.js';
import { readMetaFile, writeMetaFile } from './meta-file.js';
import {
  decodePageImage,
  encodePageImage,
  type ImageEncoding,
  type PageImage,
  PageImageError,
  type PageSource,
} from './page-image.js';
import { decodeRecords, RecordType } from './record.js';
import { RecoveredMutations } from './recovered-mutations.js';
import { type LogEntry, type RecoveredLog, recoverEntries, SegmentLog } from './segment-log.js';
import { marksFiles, readSyncMarks, type SyncMark, SyncMarkWriter } from './sync-marks.js';

export interface JournalOptions {
  /** Segment files of the frame log and timeline close at this size; 8 MiB by default. */
  readonly segmentBytes?: number;
  /** The timeline id to record when the store holds none yet (a new document on this replica). */
  readonly timelineId?: string;
  /**
   * Record after each sync how many frames are durable (sync-marks.ts), and refuse to open a journal
   * whose frames fall short of that with a `storage-corrupt` TandemError: for a journal whose frames
   * were acknowledged to others (the coordinator's), where a shorter history is a loss, not a cache
   * miss. Off by default.
   */
  readonly syncMarks?: boolean;
  /**
   * Store each frame decoded from the coordinator's wire form in that form (RecordType.wireFrame, far
   * smaller than its pages), for a client's base: recovery decodes them over the image, in lsn order.
   * Off by default (every frame stored with its pages).
   */
  readonly wireFrames?: boolean;
  /**
   * The timeline as `recoverEntries` read it from this store just before, with nothing written to the
   * timeline since (the audit's, timeline-audit.ts): taken as is instead of read again.
   */
  readonly timeline?: RecoveredLog;
  /** The entries of `timeline` checked (the audit's, when it checked them all). */
  readonly pending?: RecoveredMutations;
  /**
   * Told what was read before `open` writes or deletes anything (it may refuse the document by
   * throwing, and the files stay as they were): the coordinator checks the reducer against the
   * document's schema version here.
   */
  readonly beforeWrite?: (read: Pick<RecoveredState, 'image' | 'frames'>) => void | Promise<void>;
}

export interface RecoveredState {
  /** The timeline id recorded in the store (or just recorded from the options); undefined if none. */
  readonly timelineId: string | undefined;
  /** The newest whole image, if any: the frames before `image.frameCount` are folded into it. */
  readonly image: PageImage | undefined;
  /** The frames after the image, in lsn order, without gaps. */
  readonly frames: Frame[];
  /** The pending mutations of the timeline, in lsn order, checked and decoded when asked for. */
  readonly pending: RecoveredMutations;
}

/** What a store holds, read without changing it: the recovery, and whether it falls short. */
export interface JournalInspection {
  readonly recovered: RecoveredState;
  /** Frames the highest sync mark says were durable (0 without marks). */
  readonly framesExpected: number;
  /** Frames the image and the frame log yield. */
  readonly framesReadable: number;
  /** A `storage-corrupt` TandemError when fewer frames are readable than expected. */
  readonly damage: TandemError | undefined;
}

export interface ImageFile {
  readonly name: string;
  readonly kind: 'pages' | 'snapshot';
  readonly frameCount: number;
}

const IMAGE_KINDS = ['pages', 'snapshot'] as const;
const APPEND_CHUNK = 4 * 1024 * 1024;
/** A confirmed timeline smaller than this stays until its segment closes: emptying it costs a synced write. */
const TIMELINE_KEEP_BYTES = 64 * 1024;

/** Everything recovery reads, before it writes or deletes anything. */
interface JournalRead {
  readonly image: PageImage | undefined;
  readonly imageName: string | undefined;
  readonly images: ImageFile[];
  /** Images that are not whole, with where their records stop. */
  readonly damagedImages: {
    readonly file: ImageFile;
    readonly records: number;
    readonly stoppedAt: number;
  }[];
  readonly frameLog: RecoveredLog;
  readonly timelineLog: RecoveredLog;
  readonly frames: Frame[];
  readonly pending: RecoveredMutations;
  /** The identity file's text, if one is whole. */
  readonly identity: string | undefined;
  readonly marks: SyncMark[];
  readonly garbage: string[];
}

export class DocumentJournal {
  readonly #store: ByteStore;
  readonly #generation: number;
  readonly #frames: SegmentLog;
  readonly #timeline: SegmentLog;
  readonly #marks: SyncMarkWriter | undefined;
  readonly #wireFrames: boolean;
  #images: ImageFile[];
  #failure: unknown;
  /** The last mark `sync` started (sync-marks.ts invariant 5: it covers every earlier one). */
  #marking: Promise<void> = Promise.resolve();

  private constructor(
    store: ByteStore,
    generation: number,
    frames: SegmentLog,
    timeline: SegmentLog,
    images: ImageFile[],
    marks: SyncMarkWriter | undefined,
    wireFrames: boolean,
  ) {
    this.#store = store;
    this.#generation = generation;
    this.#frames = frames;
    this.#timeline = timeline;
    this.#images = images;
    this.#marks = marks;
    this.#wireFrames = wireFrames;
  }

  /**
   * Recovers the journal in `store` (see the invariants above). With `syncMarks`, a store holding fewer
   * frames than its marks say were durable is refused with a `storage-corrupt` TandemError, and nothing
   * in it is changed.
   */
  static async open(
    store: ByteStore,
    options: JournalOptions = {},
  ): Promise<{ journal: DocumentJournal; recovered: RecoveredState }> {
    const segmentBytes = options.segmentBytes ?? 8 * 1024 * 1024;
    const files = await store.list();
    const generation = nextGeneration(files);
    const read = await readJournal(store, files, options.timeline, options.pending);
    const { image, frames, frameLog, timelineLog, pending } = read;
    const frameCount = image?.frameCount ?? 0;
    const readable = frameCount + frames.length;
    let timelineId = read.identity;
    let marks: SyncMarkWriter | undefined;
    if (options.syncMarks === true) {
      const damage = checkFrames(read);
      if (damage !== undefined) throw damage;
      // A whole identity file wins; without one, the identity the marks carry (sync-marks.ts, 4).
      timelineId ??= read.marks[0]?.identity;
      const expected = expectedFrames(read, timelineId);
      if (readable > expected) {
        // Frames a crash kept without their sync: made durable before a mark counts them (invariant 1).
        if (read.imageName !== undefined && frameCount > expected) await store.sync(read.imageName);
        for (const segment of frameLog.segments)
          if (segment.lastLsn >= expected) await store.sync(segment.name);
      }
    }
    await options.beforeWrite?.({ image, frames });
    if (timelineId === undefined && options.timelineId !== undefined) timelineId = options.timelineId;
    if (timelineId !== undefined && timelineId !== read.identity) {
      await writeMetaFile(store, 'identity', generation, RecordType.identity, timelineId);
    }
    if (options.syncMarks === true) {
      marks = await SyncMarkWriter.start(store, generation, timelineId ?? '', readable, marksFiles(files));
    }

    for (const name of read.garbage) await store.delete(name);
    const journal = new DocumentJournal(
      store,
      generation,
      new SegmentLog(
        store,
        { kind: 'frames', type: RecordType.frame, generation, segmentBytes },
        frameLog,
        readable,
      ),
      new SegmentLog(
        store,
        { kind: 'timeline', type: RecordType.mutation, generation, segmentBytes },
        timelineLog,
        pending.lastLsn === undefined ? undefined : pending.lastLsn + 1,
      ),
      read.images,
      marks,
      options.wireFrames === true,
    );
    return { journal, recovered: { timelineId, image, frames, pending } };
  }

  /**
   * Reads what `store` holds as `open` would recover it, without writing or deleting anything, and says
   * whether it falls short of its sync marks (for an operator's recovery).
   */
  static async inspect(store: ByteStore): Promise<JournalInspection> {
    const read = await readJournal(store, await store.list());
    const timelineId = read.identity ?? read.marks[0]?.identity;
    const framesReadable = (read.image?.frameCount ?? 0) + read.frames.length;
    return {
      recovered: { timelineId, image: read.image, frames: read.frames, pending: read.pending },
      framesExpected: expectedFrames(read, timelineId),
      framesReadable,
      damage: checkFrames(read),
    };
  }

  /** The lsn the next frame must carry. */
  get nextFrameLsn(): number {
    return this.#frames.nextLsn ?? 0;
  }

  /** The images on disk (the newest whole one first, then older ones not yet deleted). */
  get images(): readonly ImageFile[] {
    return this.#images;
  }

  /** Queues a frame; it is durable once a later `sync` resolves. */
  appendFrame(frame: Frame): void {
    this.#checkHealthy();
    const wire = this.#wireFrames ? wireFormOf(frame) : undefined;
    if (wire !== undefined) this.#frames.append(frame.lsn, encodeWireFrameRecord(wire), RecordType.wireFrame);
    else this.#frames.append(frame.lsn, encodeFrameRecord(frame));
  }

  /** Queues a mutation of the timeline; it is durable once a later `sync` resolves. */
  appendMutation(mutation: MutationEnvelope): void {
    this.#checkHealthy();
    this.#timeline.append(mutation.lsn, encodeMutation(mutation));
  }

  /**
   * Makes every frame and mutation appended so far durable (concurrent calls share syncs); with sync
   * marks, then starts recording the durable frame count (sync-marks.ts, invariant 1) without waiting
   * for it: a caller acknowledging the frames waits for one fsync, not two in a row. The mark follows
   * one fsync later (`marked` waits for it); until then a crash only lowers what recovery demands (as a
   * lost marks file does), and a mark that fails to be written fails the journal: the next call throws.
   */
  async sync(): Promise<void> {
    this.#checkHealthy();
    const frameCount = this.#frames.nextLsn ?? 0;
    await Promise.all([this.#frames.flush(), this.#timeline.flush()]);
    const marks = this.#marks;
    if (marks !== undefined && frameCount > marks.marked) {
      const marking = this.#guard(() => marks.record(frameCount));
      // Told through the failure the next call throws (`#guard` keeps it), not as an unhandled rejection.
      marking.catch(() => undefined);
      this.#marking = marking;
    }
  }

  /** Settles once the marks of every `sync` resolved so far are durable; rejects if one failed. */
  async marked(): Promise<void> {
    await this.#marking;
  }

  /**
   * Writes `source` — the database after `frameCount` frames — as the new page file, then deletes the
   * frames before `retainFrom` (default: all it folds in) and the older page files. The source is the
   * base (`pageStore.base()`): a client's overlay holds unconfirmed pages, which its timeline rebuilds.
   * With `dropWritten`, the segment still being written goes too when the image holds all its frames.
   */
  async checkpoint(
    source: PageSource,
    frameCount: number,
    retainFrom = frameCount,
    options: { readonly dropWritten?: boolean } = {},
  ): Promise<void> {
    if (retainFrom > frameCount)
      throw new RangeError(`cannot drop frames past the checkpoint (${frameCount})`);
    const written = await this.#writeImage('pages', source, frameCount, 'raw');
    await this.#guard(() => this.#frames.dropBefore(retainFrom, options.dropWritten === true));
    for (const old of this.#images.filter((i) => i.kind === 'pages' && i !== written)) {
      await this.#guard(() => this.#store.delete(old.name));
      this.#images = this.#images.filter((i) => i !== old);
    }
  }

  /** Writes a compressed snapshot of `source` (the database after `frameCount` frames) and returns it. */
  async snapshot(source: PageSource, frameCount: number): Promise<{ file: ImageFile; bytes: Uint8Array }> {
    const file = await this.#writeImage('snapshot', source, frameCount, 'deflate');
    const bytes = await this.#store.read(file.name);
    if (bytes === undefined) throw new Error(`snapshot ${file.name} vanished`);
    for (const old of this.#images.filter((i) => i.kind === 'snapshot' && i.frameCount < frameCount)) {
      await this.#guard(() => this.#store.delete(old.name));
      this.#images = this.#images.filter((i) => i !== old);
    }
    return { file, bytes };
  }

  /** Deletes frames before `lsn`; refused unless an image on disk covers them. */
  async truncateFrames(lsn: number): Promise<void> {
    const covered = Math.max(0, ...this.#images.map((i) => i.frameCount));
    if (lsn > covered)
      throw new RangeError(`frames before ${lsn} are not covered by an image (newest: ${covered})`);
    await this.#guard(() => this.#frames.dropBefore(lsn));
  }

  /**
   * Deletes timeline segments whose mutations all lie before `lsn` (they are confirmed). With `emptied`,
   * also the segment still being written once every mutation in it is confirmed and it holds at least
   * `TIMELINE_KEEP_BYTES` (a reopen would read them all for nothing); `emptied` runs first, with the
   * next lsn, to record how far the timeline went, which its files then no longer say.
   */
  async truncateTimeline(lsn: number, emptied?: (nextLsn: number) => Promise<void>): Promise<void> {
    const next = this.#timeline.nextLsn;
    const whole = this.#emptiesTimeline(lsn, emptied !== undefined);
    if (whole && next !== undefined) await this.#guard(() => emptied!(next));
    await this.#guard(() => this.#timeline.dropBefore(lsn, whole));
  }

  /**
   * Whether `truncateTimeline(lsn, emptied)` called now would delete or write anything: a client asks
   * before making its base durable for the cut, which most confirmations do not bring (segments close at
   * `segmentBytes`, and a timeline is emptied only past TIMELINE_KEEP_BYTES).
   */
  truncatesTimeline(lsn: number, emptied: boolean): boolean {
    return this.#timeline.dropsBefore(lsn, this.#emptiesTimeline(lsn, emptied));
  }

  #emptiesTimeline(lsn: number, emptied: boolean): boolean {
    const next = this.#timeline.nextLsn;
    return emptied && next !== undefined && next <= lsn && this.#timeline.currentBytes >= TIMELINE_KEEP_BYTES;
  }

  async #writeImage(
    kind: ImageFile['kind'],
    source: PageSource,
    frameCount: number,
    encoding: ImageEncoding,
  ): Promise<ImageFile> {
    this.#checkHealthy();
    const name = formatFileName({ kind, lsn: frameCount, generation: this.#generation, ext: 'img' });
    const existing = this.#images.find((i) => i.name === name);
    if (existing !== undefined) return existing;
    const records = await encodePageImage(source, frameCount, encoding);
    await this.#guard(async () => {
      for (const chunk of chunks(records, APPEND_CHUNK)) await this.#store.append(name, chunk);
      await this.#store.sync(name);
    });
    const file: ImageFile = { name, kind, frameCount };
    this.#images = [file, ...this.#images].sort((a, b) => b.frameCount - a.frameCount);
    return file;
  }

  async #guard(step: () => Promise<void>): Promise<void> {
    this.#checkHealthy();
    try {
      await step();
    } catch (error) {
      this.#failure ??= error;
      throw error;
    }
  }

  #checkHealthy(): void {
    if (this.#failure !== undefined) {
      throw new Error('the journal failed and must be recovered', { cause: this.#failure });
    }
  }
}

async function readJournal(
  store: ByteStore,
  files: readonly string[],
  timeline?: RecoveredLog,
  checked?: RecoveredMutations,
): Promise<JournalRead> {
  const garbage: string[] = [];
  const candidates: ImageFile[] = [];
  for (const file of files) {
    const name = parseFileName(file);
    const kind = IMAGE_KINDS.find((k) => k === name?.kind);
    if (name !== undefined && kind !== undefined && name.ext === 'img') {
      candidates.push({ name: file, kind, frameCount: name.lsn });
    }
  }
  candidates.sort((a, b) => b.frameCount - a.frameCount || (a.kind === 'pages' ? -1 : 1));
  let image: PageImage | undefined;
  let imageName: string | undefined;
  const images: ImageFile[] = [];
  const damagedImages: JournalRead['damagedImages'] = [];
  for (const candidate of candidates) {
    if (image !== undefined && candidate.frameCount <= image.frameCount) {
      images.push(candidate);
      continue;
    }
    const bytes = (await store.read(candidate.name)) ?? new Uint8Array(0);
    try {
      const decoded = await decodePageImage(bytes);
      if (decoded.frameCount !== candidate.frameCount)
        throw new PageImageError('image lsn differs from its name');
      image = decoded;
      imageName = candidate.name;
      images.push(candidate);
    } catch (error) {
      if (!(error instanceof PageImageError)) throw error;
      garbage.push(candidate.name);
      const { records, validBytes } = decodeRecords(bytes);
      damagedImages.push({ file: candidate, records: records.length, stoppedAt: validBytes });
    }
  }

  const frameLog = await recoverEntries(
    store,
    files,
    'frames',
    [RecordType.frame, RecordType.wireFrame],
    image?.frameCount ?? 0,
  );
  const timelineLog = timeline ?? (await recoverEntries(store, files, 'timeline', RecordType.mutation));
  garbage.push(...frameLog.garbage, ...timelineLog.garbage);
  const frames = decodeFrames(image, frameLog.entries.toArray());
  const pending =
    (timeline !== undefined ? checked : undefined) ?? RecoveredMutations.read(timelineLog.entries);
  // The oldest whole identity file: later ones only exist if a crash tore the first.
  const identity = await readMetaFile(store, files, 'identity', RecordType.identity, 'oldest', (t) => t);
  const marks = await readSyncMarks(store, files);
  return {
    image,
    imageName,
    images,
    damagedImages,
    frameLog,
    timelineLog,
    frames,
    pending,
    identity: identity?.value,
    marks,
    garbage,
  };
}

/**
 * The frames of the log's entries, in lsn order. A wire frame is decoded against the pages as the image
 * and the frames before it left them, as its receiver did (protocol/page-delta.ts invariant 1); one that
 * does not decode ends the run there, like a torn record (invariant 1: recovery yields a prefix).
 */
function decodeFrames(image: PageImage | undefined, entries: readonly LogEntry[]): Frame[] {
  if (!entries.some((e) => e.type === RecordType.wireFrame)) {
    return entries.map((e) => decodeFrameRecord(e.lsn, e.payload));
  }
  const pages = new PageStore();
  if (image !== undefined) pages.applyFrame(image);
  const frames: Frame[] = [];
  for (const entry of entries) {
    let frame: Frame;
    if (entry.type === RecordType.wireFrame) {
      try {
        const wire = decodeWireFrameRecord(entry.lsn, entry.payload);
        frame = new PageVersions((pgno) => pages.readBase(pgno)).decode(wire);
        // As the receiver kept it: what the frame takes in the log is counted by its wire form.
        keepWireForm(frame, wire);
      } catch (error) {
        if (!(error instanceof FrameRecordError || error instanceof ProtocolError)) throw error;
        break;
      }
    } else frame = decodeFrameRecord(entry.lsn, entry.payload);
    pages.applyFrame(frame);
    frames.push(frame);
  }
  return frames;
}

/** The frames the marks of `identity` say were durable; marks of another history do not count. */
function expectedFrames(read: JournalRead, identity: string | undefined): number {
  return read.marks.find((m) => identity === undefined || m.identity === identity)?.frameCount ?? 0;
}

/** A `storage-corrupt` error saying where the frames stop, when fewer are readable than were synced. */
function checkFrames(read: JournalRead): TandemError | undefined {
  const framesExpected = expectedFrames(read, read.identity ?? read.marks[0]?.identity);
  const framesReadable = (read.image?.frameCount ?? 0) + read.frames.length;
  if (framesReadable >= framesExpected) return undefined;
  const where = locateDamage(read, framesReadable);
  const fields = { framesExpected, framesReadable, ...where.fields };
  return new TandemError(
    'storage-corrupt',
    `the journal holds ${framesReadable} of the ${framesExpected} frames it synced (frames ${framesReadable}..${framesExpected - 1} unreadable): ${where.text}`,
    fields,
  );
}

/** Which file should have held frame `lsn`, and where reading it stopped. */
function locateDamage(
  read: JournalRead,
  lsn: number,
): { text: string; fields: { file: string; recordOffset?: number; recordIndex?: number } } {
  const segment = read.frameLog.files
    .filter((f) => f.firstLsn <= lsn)
    .sort((a, b) => b.firstLsn - a.firstLsn || b.generation - a.generation)[0];
  const reachesPast = segment !== undefined && segment.firstLsn + segment.records > lsn;
  const image = read.damagedImages
    .filter((d) => d.file.frameCount > lsn)
    .sort((a, b) => b.file.frameCount - a.file.frameCount)[0];
  if (image !== undefined && (segment === undefined || reachesPast || segment.stoppedAt === segment.length)) {
    const { file, records, stoppedAt } = image;
    return {
      text: `image ${file.name} (frames before ${file.frameCount}) is damaged at byte ${stoppedAt} (record ${records})`,
      fields: { file: file.name, recordOffset: stoppedAt, recordIndex: records },
    };
  }
  if (segment === undefined || reachesPast) {
    const file = formatFileName({ kind: 'frames', lsn, generation: 0, ext: 'log' }).replace(
      '.00000000.',
      '.*.',
    );
    return { text: `no file holds frame ${lsn} (${file}: a frame log segment is missing)`, fields: { file } };
  }
  const cut = segment.stoppedAt === segment.length;
  return {
    text: cut
      ? `${segment.name} ends after ${segment.records} records (byte ${segment.stoppedAt}): truncated, or the next segment is missing`
      : `${segment.name} is damaged at byte ${segment.stoppedAt} of ${segment.length} (record ${segment.records}, frame ${lsn})`,
    fields: { file: segment.name, recordOffset: segment.stoppedAt, recordIndex: segment.records },
  };
}

/** Rebuilds the database a recovery describes: the image, then the frames. */
export function rebuildStore(recovered: Pick<RecoveredState, 'image' | 'frames'>): PageStore {
  const store = new PageStore();
  if (recovered.image !== undefined) store.applyFrame(recovered.image);
  for (const frame of recovered.frames) store.applyFrame(frame);
  return store;
}

/** Concatenates records into appends of about `size` bytes (fewer calls into the store). */
function* chunks(records: readonly Uint8Array[], size: number): Generator<Uint8Array> {
  let batch: Uint8Array[] = [];
  let length = 0;
  for (const record of records) {
    batch.push(record);
    length += record.length;
    if (length >= size) {
      yield concatBytes(batch);
      batch = [];
      length = 0;
    }
  }
  if (batch.length > 0) yield concatBytes(batch);
}
