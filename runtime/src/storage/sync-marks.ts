// The frame log's high-water mark: how many frames were durable, recorded apart from the frames, so a
// recovery can tell a torn tail (never synced, never acknowledged: dropped silently) from damage to
// what was acknowledged (refused). Files `marks.<frame count at its start>.<generation>.log`, records
// of type syncMark: u64 frame count | the journal's identity (UTF-8).
//
// Invariants:
// 1. A mark is appended and synced only once the frames it counts are durable, so no crash can leave
//    a mark above the frames that survive: a recovery may demand every frame below the highest mark.
// 2. Marks of one identity never decrease. The highest whole mark of any file counts; a damaged,
//    truncated or missing marks file only lowers what is demanded, never invents a loss.
// 3. The marks file in use is replaced (a new one, its first record synced, before older ones are
//    deleted) at each open and whenever it passes MARKS_FILE_BYTES, so marks take bounded space.
// 4. The identity rides along with every mark: a damaged identity file is restored from it.
// 5. Marks asked for while one is being written are coalesced: the next write records the highest
//    count asked for, so a journal syncing faster than marks can be written pays one mark per write.
// 6. A mark is written in a later turn of the event loop than the `record` that asked for it, so
//    what acknowledges the frames (a push's report, waiting for the same thread) goes out before the
//    mark's fsync, not behind it; marks asked for until that turn join the same write (invariant 5).
import type { ByteStore } from './byte-store.js';
import { formatFileName, parseFileName } from './file-names.js';
import { decodeRecords, encodeRecord, RecordType } from './record.js';

const KIND = 'marks';
const MARKS_FILE_BYTES = 64 * 1024;
const utf8 = new TextEncoder();

export interface SyncMark {
  readonly frameCount: number;
  readonly identity: string;
  /** The marks file it was read from. */
  readonly file: string;
}

/** The marks files among `files`. */
export function marksFiles(files: readonly string[]): string[] {
  return files.filter((file) => {
    const name = parseFileName(file);
    return name?.kind === KIND && name.ext === 'log';
  });
}

/** The highest whole mark of each identity found in the marks files, highest first. */
export async function readSyncMarks(store: ByteStore, files: readonly string[]): Promise<SyncMark[]> {
  const best = new Map<string, SyncMark>();
  for (const file of marksFiles(files)) {
    for (const record of decodeRecords((await store.read(file)) ?? new Uint8Array(0)).records) {
      if (record.type !== RecordType.syncMark || record.payload.length < 8) break;
      const view = new DataView(record.payload.buffer, record.payload.byteOffset, 8);
      const frameCount = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
      const identity = new TextDecoder().decode(record.payload.subarray(8));
      if (frameCount > (best.get(identity)?.frameCount ?? -1))
        best.set(identity, { frameCount, identity, file });
    }
  }
  return [...best.values()].sort((a, b) => b.frameCount - a.frameCount);
}

function markRecord(frameCount: number, identity: string): Uint8Array {
  const text = utf8.encode(identity);
  const payload = new Uint8Array(8 + text.length);
  const view = new DataView(payload.buffer);
  view.setUint32(0, frameCount % 2 ** 32, true);
  view.setUint32(4, Math.floor(frameCount / 2 ** 32), true);
  payload.set(text, 8);
  return encodeRecord(RecordType.syncMark, payload);
}

export class SyncMarkWriter {
  readonly #store: ByteStore;
  readonly #generation: number;
  readonly #identity: string;
  #file: string;
  #bytes: number;
  #marked: number;
  /** The highest count asked for (invariant 5). */
  #wanted: number;
  #chain: Promise<void> = Promise.resolve();
  /** The write asked for and not yet begun, which later asks join (invariants 5, 6). */
  #next: Promise<void> | undefined;

  private constructor(
    store: ByteStore,
    generation: number,
    identity: string,
    file: string,
    bytes: number,
    marked: number,
  ) {
    this.#store = store;
    this.#generation = generation;
    this.#identity = identity;
    this.#file = file;
    this.#bytes = bytes;
    this.#marked = marked;
    this.#wanted = marked;
  }

  /**
   * Starts this generation's marks file at `frameCount` (frames the caller made durable) and deletes
   * the older marks files `replaced` once it is synced (invariant 3).
   */
  static async start(
    store: ByteStore,
    generation: number,
    identity: string,
    frameCount: number,
    replaced: readonly string[],
  ): Promise<SyncMarkWriter> {
    const file = await writeMarksFile(store, generation, identity, frameCount);
    for (const old of replaced) if (old !== file) await store.delete(old);
    return new SyncMarkWriter(store, generation, identity, file, 0, frameCount);
  }

  /** The highest mark recorded. */
  get marked(): number {
    return this.#marked;
  }

  /**
   * Records that `frameCount` frames are durable (the caller synced them first: invariant 1); resolves
   * once a mark of at least that count is durable.
   */
  record(frameCount: number): Promise<void> {
    this.#wanted = Math.max(this.#wanted, frameCount);
    if (this.#next !== undefined) return this.#next;
    const run = this.#chain.then(nextTurn).then(async () => {
      this.#next = undefined;
      const frameCount = this.#wanted;
      if (frameCount <= this.#marked) return;
      if (this.#bytes >= MARKS_FILE_BYTES) {
        const old = this.#file;
        this.#file = await writeMarksFile(this.#store, this.#generation, this.#identity, frameCount);
        this.#bytes = 0;
        await this.#store.delete(old);
      } else {
        const record = markRecord(frameCount, this.#identity);
        await this.#store.append(this.#file, record);
        await this.#store.sync(this.#file);
        this.#bytes += record.length;
      }
      this.#marked = frameCount;
    });
    this.#next = run;
    this.#chain = run.catch(() => undefined);
    return run;
  }
}

/** Resolves in a later turn of the event loop (invariant 6). */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

async function writeMarksFile(
  store: ByteStore,
  generation: number,
  identity: string,
  frameCount: number,
): Promise<string> {
  const file = formatFileName({ kind: KIND, lsn: frameCount, generation, ext: 'log' });
  await store.append(file, markRecord(frameCount, identity));
  await store.sync(file);
  return file;
}
