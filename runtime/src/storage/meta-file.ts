// Meta files: `<kind>.0000000000000000.<generation>.meta`, one record each, written whole and synced
// before anything relies on them (a document's identity, a client's current base). A crash can leave a
// torn one behind; readers take the first whole one in the order their invariant asks for.
import type { ByteStore } from './byte-store.js';
import { formatFileName, parseFileName } from './file-names.js';
import { decodeRecords, encodeRecord, type RecordType } from './record.js';

const utf8 = new TextEncoder();

/** Writes and syncs the meta file of `kind` for `generation`; returns its name. */
export async function writeMetaFile(
  store: ByteStore,
  kind: string,
  generation: number,
  type: RecordType,
  text: string,
): Promise<string> {
  const name = formatFileName({ kind, lsn: 0, generation, ext: 'meta' });
  await store.append(name, encodeRecord(type, utf8.encode(text)));
  await store.sync(name);
  return name;
}

/**
 * The text of the first whole meta file of `kind` (oldest or newest generation first) that `accept`
 * takes, with its name.
 */
export async function readMetaFile<T>(
  store: ByteStore,
  files: readonly string[],
  kind: string,
  type: RecordType,
  order: 'oldest' | 'newest',
  accept: (text: string) => T | undefined,
): Promise<{ readonly value: T; readonly file: string } | undefined> {
  const sign = order === 'oldest' ? 1 : -1;
  const candidates = files
    .filter((file) => parseFileName(file)?.kind === kind)
    .sort((a, b) => sign * (parseFileName(a)!.generation - parseFileName(b)!.generation));
  for (const file of candidates) {
    const record = decodeRecords((await store.read(file)) ?? new Uint8Array(0)).records[0];
    if (record?.type !== type) continue;
    const value = accept(new TextDecoder().decode(record.payload));
    if (value !== undefined) return { value, file };
  }
  return undefined;
}
