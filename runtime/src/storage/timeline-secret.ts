// A client's timeline secret: 256 random bits that prove a timeline is this client's. It is sent with
// every hello and nowhere else; the coordinator binds a timeline to the hash of the secret that first
// wrote on it (applied-marker.ts), and refuses any other secret on it (`timeline-taken`).
// Losing it would lock the client out of its own timeline for good (its pending mutations could never be
// delivered), so, like the timeline id, it is kept in several local files and established from whichever
// survive (client-identity.ts): its own `secret.….meta`, the identity record, the reach record of each
// close and the history file. Never in the pages (they are replicated).
//
// Invariants:
// 1. Every whole copy must hold the same secret; copies that disagree refuse the open (`identity-lost`,
//    reason `secret-copies-disagree`): the client cannot tell which one its timeline is bound to.
// 2. A new secret is minted only for a new timeline (no copy of the timeline id survives), or for a
//    folder that never kept one (from before secrets: no secret file at all; its timeline, if the
//    coordinator took any of it, was never bound, and the next push binds it). A folder whose secret
//    files are all unreadable and that has no other copy refuses the open (`secret-lost`), files
//    untouched: a new secret on a timeline bound to the old one would only be refused later.
// 3. A missing or damaged copy is written again (synced) before the document opens, so no push ever
//    carries a secret that is not durable, and one more lost file is survived again.
import { toHex } from '../bytes.js';
import { TandemError } from '../errors.js';
import { TIMELINE_SECRET_PATTERN } from '../protocol/limits.js';
import type { ByteStore } from './byte-store.js';
import { parseFileName } from './file-names.js';
import { decodeRecords, RecordType } from './record.js';

const SECRET_BYTES = 32;
const VALID = new RegExp(TIMELINE_SECRET_PATTERN);

/** Where a copy of the secret was found. */
export type SecretSource = 'secret' | 'identity' | 'reach' | 'history';

/** A new random secret (crypto.getRandomValues), as lowercase hex. */
export function newTimelineSecret(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)));
}

export function isTimelineSecret(value: unknown): value is string {
  return typeof value === 'string' && VALID.test(value);
}

/** The secret files among `files`: the secrets of the whole ones, and the names of the others. */
export async function readSecretFiles(
  store: ByteStore,
  files: readonly string[],
): Promise<{ readonly secrets: readonly string[]; readonly unreadable: readonly string[] }> {
  const secrets: string[] = [];
  const unreadable: string[] = [];
  const named = files.filter((f) => parseFileName(f)?.kind === 'secret');
  const contents = await Promise.all(named.map((file) => store.read(file)));
  for (const [i, file] of named.entries()) {
    const record = decodeRecords(contents[i] ?? new Uint8Array(0)).records[0];
    const text = record?.type === RecordType.timelineSecret && new TextDecoder().decode(record.payload);
    if (isTimelineSecret(text)) secrets.push(text);
    else unreadable.push(file);
  }
  return { secrets, unreadable };
}

/**
 * The secret of a timeline from the copies found (invariants 1 and 2): `copies` maps each secret to
 * where it was found; `timelineKnown` says a copy of the timeline id survived; `secretFiles` whether
 * any secret file exists, readable or not. Never puts a secret in an error.
 */
export function settleTimelineSecret(
  copies: ReadonlyMap<string, ReadonlySet<SecretSource>>,
  timelineKnown: boolean,
  secretFiles: boolean,
): string {
  if (copies.size > 1) {
    const seen = [...copies.values()].map((sources, i) => `copy ${i + 1} in ${[...sources].join(', ')}`);
    throw new TandemError(
      'identity-lost',
      `this replica's copies of its timeline secret disagree (${seen.join('; ')}); it cannot tell which one its timeline is bound to, so it refuses to open`,
      { reason: 'secret-copies-disagree' },
    );
  }
  const [only] = copies.keys();
  if (only !== undefined) return only;
  if (timelineKnown && secretFiles) {
    throw new TandemError(
      'identity-lost',
      "every copy of this replica's timeline secret is unreadable; a new one would be refused on its timeline, so it refuses to open (files untouched)",
      { reason: 'secret-lost' },
    );
  }
  return newTimelineSecret();
}
