// A client's timeline secret: 256 random bits that prove a timeline is this client's. It is kept in a
// meta file of its own beside the identity (`secret.…meta`) and sent with every hello; the coordinator
// binds a timeline to the hash of the secret that first wrote on it (migrations/applied-marker.ts), and
// refuses any other secret on it (`timeline-taken`).
//
// Invariants:
// 1. A store keeps one secret: the oldest whole secret file (a later one exists only if a crash tore the
//    first). It is synced before the document opens, so no push ever carries a secret that is not durable.
// 2. A store without one (new, older than secrets, or whose file was lost) gets a fresh one. On a timeline
//    bound to the lost secret the coordinator refuses the client and its sync stops for good: a lost
//    secret never lets a client write on its old timeline, nor silently starts another one.
import { toHex } from '../bytes.js';
import { TIMELINE_SECRET_PATTERN } from '../protocol/hello.js';
import type { ByteStore } from './byte-store.js';
import { nextGeneration } from './file-names.js';
import { readMetaFile, writeMetaFile } from './meta-file.js';
import { RecordType } from './record.js';

const SECRET_BYTES = 32;
const VALID = new RegExp(TIMELINE_SECRET_PATTERN);

/** A new random secret (crypto.getRandomValues), as lowercase hex. */
export function newTimelineSecret(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)));
}

/** The store's secret, created and synced if it has none (invariants 1 and 2). */
export async function openTimelineSecret(store: ByteStore): Promise<string> {
  const files = await store.list();
  const kept = await readMetaFile(store, files, 'secret', RecordType.timelineSecret, 'oldest', (text) =>
    VALID.test(text) ? text : undefined,
  );
  if (kept !== undefined) return kept.value;
  const secret = newTimelineSecret();
  await writeMetaFile(store, 'secret', nextGeneration(files), RecordType.timelineSecret, secret);
  return secret;
}
