// A client's copy of the coordinator's pages (the base), kept beside its timeline so that a reopened
// document shows what it had synced even offline, and asks the coordinator only for what is new.
//
// Each base the client starts over from (a new coordinator history, or a snapshot) gets its own journal
// under a fresh prefix `base-<hash of a random id>.`; a `history` file names the current one (its
// journalId and that id, and this replica's timeline id and secret: one of the copies client-identity.ts
// establishes them from; the history file is local, never sent). A fresh prefix each time means no frame of an abandoned base can ever be read
// as a continuation of the new one. Invariants:
// 1. The history file is written (and synced) only after the new history's image is synced, so it
//    never names a base that is not there; a crash in between leaves the old history current, and the
//    next sync replaces it again.
// 2. Files of other histories are garbage once the history file moved on; they are deleted, and a
//    crash that brings them back is harmless (nothing names them).
// 3. The base's frames need no sync of their own before use: the coordinator holds them durably, and
//    a base that lost its tail in a crash just asks for it again (its cursor is lower).
// 4. A frame decoded from the coordinator's wire form is stored in that form (page deltas against the
//    base before it, storage/frame-record.ts): the base log holds every frame since its image, in lsn
//    order, so recovery has each delta's previous pages exactly as the receiver had them.
// 5. Bursts are written up to WRITE_DELAY_MS after they are recorded (at once by `flushed`), each
//    step writing every burst recorded by then, in order: a client taking hundreds of frames a second
//    makes a few writes, not one per frame. A crash loses at most those bursts, which invariant 3 allows.
// 6. `close`, or a base left quiet for SETTLE_MS after a burst, checkpoints the base when the frames
//    since its last image hold at least 1/CLOSE_SHARE of its pages (counted as pages, not as the bytes
//    stored: what a reopen inflates): a reopen then reads one image
//    instead of inflating page deltas (a cold process pays ~0.5 ms for each), also after an unclean exit.
//    The pages are read then from the `base` of the last `record`, which must be the document's base
//    as of that record (every change of it recorded before the call making it returns).
import { toHex } from '../bytes.js';
import type { Frame } from '../frame.js';
import { PAGE_SIZE, type PageStore } from '../vfs/page-store.js';
import type { ByteStore } from './byte-store.js';
import { DocumentJournal, type RecoveredState, rebuildStore } from './document-journal.js';
import { nextGeneration, parseFileName } from './file-names.js';
import { storedFrameBytes } from './frame-record.js';
import { readMetaFile, writeMetaFile } from './meta-file.js';
import type { PageSource } from './page-image.js';
import { PrefixedByteStore } from './prefixed-byte-store.js';
import { RecordType } from './record.js';
import { isTimelineSecret } from './timeline-secret.js';

const CHECKPOINT_EVERY = 1000;
/** Frames are stored as they came on the wire (a few bytes per small change), not as pages. */
const JOURNAL = { wireFrames: true } as const;
/** How long recorded bursts wait to be written with the ones after them (invariant 5). */
const WRITE_DELAY_MS = 100;
/**
 * A checkpoint is also due once the frames stored since the last one outweigh the base (and this
 * floor): a reopen then reads at most about twice the base, and each byte of base is rewritten at most
 * once per byte of frames. Counted as stored (a small change's wire form is tens of bytes): counted as
 * decoded pages, a checkpoint rewrote the whole base every ~64 small frames (4% of a receiving
 * client's CPU per frame).
 */
const CHECKPOINT_BYTES = 1024 * 1024;
/** A close checkpoints a base whose frames since its image changed 1/CLOSE_SHARE of its size (invariant 6). */
const CLOSE_SHARE = 8;
/** How long a base stays quiet after a burst before it is checkpointed as at a close (invariant 6). */
export const SETTLE_MS = 2000;

export interface RecoveredBase {
  readonly journalId: string | null;
  /** The timeline id the history file names (undefined without one, or in the first format). */
  readonly timelineId: string | undefined;
  /** The timeline secret the history file holds (undefined without one, or in an older format). */
  readonly timelineSecret: string | undefined;
  /** The lsn of the next base frame. */
  readonly cursor: number;
  readonly store: PageStore;
}

export class ClientBase {
  readonly #root: ByteStore;
  #journalId: string | null;
  /** Names the current base's files (see the header). */
  #baseId: string | undefined;
  #journal: DocumentJournal | undefined;
  #checkpointedAt: number;
  /**
   * Where the newest image written or queued stands, as `record` sees it (the chain writes later):
   * counted from `#checkpointedAt`, every burst recorded before the chain caught up was due again, and
   * each rewrote the whole base.
   */
  #plannedAt: number;
  /** Page bytes of the frames recorded since the last checkpoint (invariant 6). */
  #bytesSince: number;
  /** Bytes the frames recorded since the last checkpoint take in the log (CHECKPOINT_BYTES). */
  #storedSince: number;
  #chain: Promise<void> = Promise.resolve();
  /** Bursts recorded and not yet chained (invariant 5), and the timer that chains them. */
  readonly #waiting: {
    readonly journalId: string;
    readonly replaced: { readonly source: PageSource; readonly frameCount: number } | undefined;
    readonly frames: readonly Frame[];
    readonly base: PageSource;
    readonly cursor: number;
    readonly due: boolean;
  }[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #settleTimer: ReturnType<typeof setTimeout> | undefined;
  /** When the last burst was recorded (Date.now()): the settle timer runs SETTLE_MS past it. */
  #recordedAt = 0;
  /** The last burst recorded: the live base it left and where (invariant 6). */
  #latest: { readonly journalId: string; readonly base: PageSource; readonly cursor: number } | undefined;
  /** The history file that names the current history (kept by garbage collection). */
  #historyFile: string | undefined;
  /** Written into each history file; set by the opener once the identity is established. */
  timelineId: string | undefined;
  /** Written into each history file beside the id (client-identity.ts). */
  timelineSecret: string | undefined;

  private constructor(
    root: ByteStore,
    history: History | undefined,
    journal: DocumentJournal | undefined,
    since: { readonly pageBytes: number; readonly storedBytes: number },
  ) {
    this.#root = root;
    this.#historyFile = history?.file;
    this.#journalId = history?.journalId ?? null;
    this.#baseId = history?.baseId;
    this.#journal = journal;
    this.#checkpointedAt = journal?.images[0]?.frameCount ?? 0;
    this.#plannedAt = this.#checkpointedAt;
    this.#bytesSince = since.pageBytes;
    this.#storedSince = since.storedBytes;
  }

  static async open(root: ByteStore): Promise<{ base: ClientBase; recovered: RecoveredBase }> {
    const files = await root.list();
    const named = await readMetaFile(root, files, 'history', RecordType.history, 'newest', parseHistory);
    const history = named && { ...named.value, file: named.file };
    let recovered: RecoveredState | undefined;
    let journal: DocumentJournal | undefined;
    if (history !== undefined) {
      ({ journal, recovered } = await DocumentJournal.open(
        new PrefixedByteStore(root, await prefixOf(history.baseId)),
        JOURNAL,
      ));
    }
    const store = rebuildStore(recovered ?? { image: undefined, frames: [] });
    const cursor = (recovered?.image?.frameCount ?? 0) + (recovered?.frames.length ?? 0);
    const frames = recovered?.frames ?? [];
    const since = { pageBytes: frameBytes(frames), storedBytes: storedBytes(frames) };
    const base = new ClientBase(root, history, journal, since);
    await base.#collect(files);
    return {
      base,
      recovered: {
        journalId: history?.journalId ?? null,
        timelineId: history?.timelineId,
        timelineSecret: history?.timelineSecret,
        cursor,
        store,
      },
    };
  }

  /**
   * Records a burst the document applied to its base: frames continuing the current history, or a new
   * history (`replaced`: the base after `frameCount` frames, then `frames`). Writes run in the background,
   * in call order; `flushed` waits for them.
   */
  record(update: {
    readonly journalId: string;
    readonly replaced?: { readonly source: PageSource; readonly frameCount: number };
    readonly frames: readonly Frame[];
    /** The base after the burst, for checkpoints. */
    readonly base: PageSource;
    readonly cursor: number;
  }): void {
    const { journalId, replaced, frames, cursor } = update;
    const bytes = (replaced === undefined ? this.#bytesSince : 0) + frameBytes(frames);
    const stored = (replaced === undefined ? this.#storedSince : 0) + storedBytes(frames);
    // A burst starting another history starts from its image (`#switch`).
    if (replaced !== undefined || journalId !== (this.#latest?.journalId ?? this.#journalId)) {
      this.#plannedAt = replaced?.frameCount ?? 0;
    }
    const due =
      cursor - this.#plannedAt >= CHECKPOINT_EVERY ||
      stored >= Math.max(CHECKPOINT_BYTES, update.base.pageCount * PAGE_SIZE);
    // Counted as the calls come: the checkpoint below folds in every frame recorded before it.
    this.#bytesSince = due ? 0 : bytes;
    this.#storedSince = due ? 0 : stored;
    if (due) this.#plannedAt = cursor;
    // The pages are taken now: by the time the chain runs, the document's base may have moved on.
    const pages = due ? [...update.base.pages()] : [];
    const base: PageSource = { pageCount: update.base.pageCount, pages: () => pages };
    this.#waiting.push({ journalId, replaced, frames, base, cursor, due });
    this.#latest = { journalId, base: update.base, cursor };
    // One timer per quiet spell, not one per burst (a timer's set and clear were ~7% of a client's CPU
    // per frame): it runs on while bursts keep coming.
    this.#recordedAt = Date.now();
    if (this.#settleTimer === undefined) this.#armSettle(SETTLE_MS);
    // Written a little later, with what follows (invariant 5).
    this.#timer ??= setTimeout(() => this.#write(), WRITE_DELAY_MS);
  }

  /** Chains the writes of the bursts recorded so far, in one step (invariant 5). */
  #write(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const bursts = this.#waiting.splice(0);
    if (bursts.length === 0) return;
    this.#chain = this.#chain.then(async () => {
      for (const { journalId, replaced, frames, base, cursor, due } of bursts) {
        // Decided in turn: the bursts before this one may have switched the history already.
        if (journalId !== this.#journalId || replaced !== undefined) await this.#switch(journalId, replaced);
        const journal = this.#journal!;
        // Consecutive bursts append without awaiting in between: their frames share one write.
        for (const frame of frames) journal.appendFrame(frame);
        if (due && cursor > this.#checkpointedAt) {
          // The image holds every frame: the log goes whole, the segment being written too.
          await journal.checkpoint(base, cursor, cursor, { dropWritten: true });
          this.#checkpointedAt = cursor;
        }
      }
    });
  }

  /** Starts the new history's journal: its image (the replaced base, or none), then the history file. */
  async #switch(
    journalId: string,
    replaced: { readonly source: PageSource; readonly frameCount: number } | undefined,
  ): Promise<void> {
    const files = await this.#root.list();
    const baseId = crypto.randomUUID();
    const history = new PrefixedByteStore(this.#root, await prefixOf(baseId));
    const start = replaced ?? { source: emptySource, frameCount: 0 };
    await (await DocumentJournal.open(history, JOURNAL)).journal.checkpoint(start.source, start.frameCount);
    // Opened again so that its frame log continues from the image.
    const { journal } = await DocumentJournal.open(history, JOURNAL);
    const name = await writeMetaFile(
      this.#root,
      'history',
      nextGeneration(files),
      RecordType.history,
      JSON.stringify({
        journalId,
        baseId,
        timelineId: this.timelineId,
        timelineSecret: this.timelineSecret,
      }),
    );
    this.#journal = journal;
    this.#journalId = journalId;
    this.#baseId = baseId;
    this.#checkpointedAt = start.frameCount;
    this.#historyFile = name;
    await this.#collect(await this.#root.list());
  }

  /** Waits for the writes recorded so far (and rethrows their failure). */
  async flushed(): Promise<void> {
    this.#write();
    await this.#chain;
    await this.#journal?.sync();
  }

  /**
   * Writes what was recorded, checkpoints the base if its frames since the last image are worth it
   * (invariant 6), and syncs. The document's base must not change after this.
   */
  async close(): Promise<void> {
    clearTimeout(this.#settleTimer);
    this.#settleTimer = undefined;
    this.#queueSettledCheckpoint();
    await this.flushed();
  }

  #armSettle(delay: number): void {
    this.#settleTimer = setTimeout(() => {
      const quiet = Date.now() - this.#recordedAt;
      if (quiet < SETTLE_MS) this.#armSettle(SETTLE_MS - quiet);
      else this.#settle();
    }, delay);
    // A quiet base must not keep a process alive for its checkpoint.
    (this.#settleTimer as { unref?: () => void }).unref?.();
  }

  /** A quiet base: its checkpoint, if worth it, is written now (a failure waits for `flushed`). */
  #settle(): void {
    this.#settleTimer = undefined;
    if (!this.#queueSettledCheckpoint()) return;
    this.#write();
    this.#chain.catch(() => undefined);
  }

  /** Queues a checkpoint of the last recorded base when invariant 6 says it is worth it. */
  #queueSettledCheckpoint(): boolean {
    const latest = this.#latest;
    if (latest === undefined || this.#bytesSince === 0) return false;
    if (this.#bytesSince * CLOSE_SHARE < latest.base.pageCount * PAGE_SIZE) return false;
    const pages = [...latest.base.pages()];
    const base: PageSource = { pageCount: latest.base.pageCount, pages: () => pages };
    this.#waiting.push({ ...latest, replaced: undefined, frames: [], base, due: true });
    this.#bytesSince = 0;
    this.#storedSince = 0;
    this.#plannedAt = latest.cursor;
    return true;
  }

  /** Deletes the files of histories other than the current one, and stale history files. */
  async #collect(files: readonly string[]): Promise<void> {
    const keep = this.#baseId === undefined ? undefined : await prefixOf(this.#baseId);
    for (const file of files) {
      const otherBase = file.startsWith('base-') && (keep === undefined || !file.startsWith(keep));
      const otherHistory = parseFileName(file)?.kind === 'history' && file !== this.#historyFile;
      if (otherBase || otherHistory) await this.#root.delete(file);
    }
  }
}

const utf8 = new TextEncoder();

function frameBytes(frames: readonly Frame[]): number {
  let bytes = 0;
  for (const frame of frames) for (const page of frame.pages) bytes += page.data.length;
  return bytes;
}
/** What `frames` take in the base's log (JOURNAL: the wire form where they have one). */
function storedBytes(frames: readonly Frame[]): number {
  let bytes = 0;
  for (const frame of frames) bytes += storedFrameBytes(frame, JOURNAL.wireFrames);
  return bytes;
}

const emptySource: PageSource = { pageCount: 0, pages: () => [] };

interface History {
  readonly journalId: string;
  readonly baseId: string;
  readonly timelineId: string | undefined;
  readonly timelineSecret: string | undefined;
  readonly file: string;
}

async function prefixOf(baseId: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', utf8.encode(baseId)));
  return `base-${toHex(digest.subarray(0, 8))}.`;
}

function parseHistory(json: string): Omit<History, 'file'> | undefined {
  try {
    const value: unknown = JSON.parse(json);
    if (typeof value !== 'object' || value === null) return undefined;
    const { journalId, baseId, timelineId, timelineSecret } = value as Record<string, unknown>;
    if (typeof journalId !== 'string' || typeof baseId !== 'string') return undefined;
    if (timelineId !== undefined && typeof timelineId !== 'string') return undefined;
    if (timelineSecret !== undefined && !isTimelineSecret(timelineSecret)) return undefined;
    return { journalId, baseId, timelineId, timelineSecret };
  } catch {
    return undefined;
  }
}
