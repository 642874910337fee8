// A client's identity: the timeline id the coordinator dedupes its pushes by, and the timeline secret
// that proves the timeline is this client's (timeline-secret.ts). Losing the id must never make a client
// push again, under a new id, mutations the coordinator already took (a second apply); losing the secret
// would lock it out of its own timeline. So both are kept in several places and established from
// whichever survive:
// - `identity.….meta`, written when the document is created: the id and the secret;
// - `secret.….meta`, the secret alone (the one copy of the format before copies);
// - `reach.….meta`, written at each close: the id and the secret again, and the lsn the timeline had
//   reached;
// - the history file (client-base.ts), which names the id and the secret beside the base it describes;
// - every timeline record (each mutation's envelope carries its timeline id; never the secret).
//
// Invariants:
// 1. Every surviving copy must name the same id; copies that disagree make `establishIdentity` throw
//    `identity-lost`, and the document does not open (it cannot know under which id its past was taken).
//    The same holds for the secret (timeline-secret.ts, 1).
// 2. A new id is minted only when no copy survives. Then no pending mutation survives either (each
//    carries the id), so nothing can be pushed twice; a lost timeline is reported on its own
//    (timeline-audit.ts). When and only when a secret is minted: timeline-secret.ts, 2.
// 3. `establishIdentity` reads and changes nothing; `restore` then writes again (synced) an identity
//    file holding both when none whole does, and a secret file when none is whole, and deletes the
//    unreadable ones: any one more lost file is then survived again.
// 4. Reach records only ever claim lsns the timeline held, so the highest whole one is a lower bound of
//    how far the timeline went: a shorter timeline lost mutations (timeline-audit.ts counts them).
//
// Records are versioned JSON ({"version":1,"timelineId":…,"timelineSecret"?:…,"nextLsn"?:…}; fields may
// be added). An identity file of the first format (the id as plain text) is still read.
import { TandemError } from '../errors.js';
import type { ByteStore } from './byte-store.js';
import { nextGeneration, parseFileName } from './file-names.js';
import { writeMetaFile } from './meta-file.js';
import { decodeRecords, RecordType } from './record.js';
import {
  isTimelineSecret,
  readSecretFiles,
  type SecretSource,
  settleTimelineSecret,
} from './timeline-secret.js';

export const IDENTITY_VERSION = 1;

export interface IdentityRecord {
  readonly version: number;
  readonly timelineId: string;
  /** Absent in records written before the secret had copies. */
  readonly timelineSecret?: string;
  /** In reach records: the lsn the timeline's next mutation would have taken. */
  readonly nextLsn?: number;
}

/** Where a copy of the id was found. */
export type IdentitySource = 'identity' | 'reach' | 'history' | 'timeline';

export interface EstablishedIdentity {
  readonly timelineId: string;
  readonly timelineSecret: string;
  /** False when no copy of the id survived and `fresh` was taken. */
  readonly recovered: boolean;
  /** The highest `nextLsn` a whole reach record claims (0 without any). */
  readonly reachedLsn: number;
  /** Writes the copies that are missing or damaged (invariant 3); call it once the document may open. */
  restore(): Promise<void>;
}

export function encodeIdentity(record: IdentityRecord): string {
  return JSON.stringify(record);
}

/** A record of this or the first format, or undefined for anything else. */
export function parseIdentity(text: string): IdentityRecord | undefined {
  if (!text.startsWith('{')) {
    return text.length > 0 ? { version: 0, timelineId: text } : undefined;
  }
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return undefined;
    const { version, timelineId, timelineSecret, nextLsn } = value as Record<string, unknown>;
    if (typeof version !== 'number' || version < 1 || typeof timelineId !== 'string' || timelineId === '') {
      return undefined;
    }
    if (nextLsn !== undefined && !(Number.isSafeInteger(nextLsn) && (nextLsn as number) >= 0))
      return undefined;
    if (timelineSecret !== undefined && !isTimelineSecret(timelineSecret)) return undefined;
    return {
      version,
      timelineId,
      ...(timelineSecret !== undefined && { timelineSecret }),
      ...(nextLsn !== undefined && { nextLsn: nextLsn as number }),
    };
  } catch {
    return undefined;
  }
}

/**
 * The timeline id and secret of the store (invariants 1–3): from the copies found in `store`, the
 * history's (`historyId`, `historySecret`) and the timeline's records (`timelineIds`), or `fresh` (and a
 * new secret) when no copy of the id survives. Reads only; `restore` writes.
 */
export async function establishIdentity(
  store: ByteStore,
  copies: {
    readonly historyId: string | undefined;
    readonly historySecret: string | undefined;
    readonly timelineIds: ReadonlySet<string>;
  },
  fresh: string,
): Promise<EstablishedIdentity> {
  const files = await store.list();
  const ids = new Map<string, Set<IdentitySource>>();
  const secrets = new Map<string, Set<SecretSource>>();
  const note = <S>(found: Map<string, Set<S>>, value: string, source: S): void => {
    found.set(value, (found.get(value) ?? new Set()).add(source));
  };
  const identities: IdentityRecord[] = [];
  const unreadableIdentities: string[] = [];
  const identityFiles = files.filter((f) => parseFileName(f)?.kind === 'identity');
  const reachFiles = files.filter((f) => parseFileName(f)?.kind === 'reach');
  // All at once: each read is a round trip to the store (in a browser, to its storage process).
  const [identityRecords, reachRecords, secretFiles] = await Promise.all([
    Promise.all(identityFiles.map((file) => readIdentityRecord(store, file))),
    Promise.all(reachFiles.map((file) => readIdentityRecord(store, file))),
    readSecretFiles(store, files),
  ]);
  for (const [i, file] of identityFiles.entries()) {
    const identity = identityRecords[i];
    if (identity === undefined) {
      unreadableIdentities.push(file);
      continue;
    }
    identities.push(identity);
    note(ids, identity.timelineId, 'identity');
    if (identity.timelineSecret !== undefined) note(secrets, identity.timelineSecret, 'identity');
  }
  let reachedLsn = 0;
  for (const reach of reachRecords) {
    if (reach === undefined) continue;
    note(ids, reach.timelineId, 'reach');
    if (reach.timelineSecret !== undefined) note(secrets, reach.timelineSecret, 'reach');
    reachedLsn = Math.max(reachedLsn, reach.nextLsn ?? 0);
  }
  if (copies.historyId !== undefined) note(ids, copies.historyId, 'history');
  if (copies.historySecret !== undefined) note(secrets, copies.historySecret, 'history');
  for (const id of copies.timelineIds) note(ids, id, 'timeline');
  for (const secret of secretFiles.secrets) note(secrets, secret, 'secret');

  if (ids.size > 1) {
    const seen = [...ids].map(([id, sources]) => `${id} (${[...sources].join(', ')})`).join('; ');
    throw new TandemError(
      'identity-lost',
      `this replica's copies of its timeline id disagree: ${seen}; it cannot tell under which id the coordinator took its mutations, so it refuses to push rather than push twice`,
      { reason: 'copies-disagree' },
    );
  }
  const [only] = ids.keys();
  const timelineId = only ?? fresh;
  const hasSecretFiles = secretFiles.secrets.length + secretFiles.unreadable.length > 0;
  const timelineSecret = settleTimelineSecret(secrets, only !== undefined, hasSecretFiles);
  const restore = async (): Promise<void> => {
    const generation = nextGeneration(await store.list());
    if (!identities.some((i) => i.timelineId === timelineId && i.timelineSecret === timelineSecret)) {
      const record = encodeIdentity({ version: IDENTITY_VERSION, timelineId, timelineSecret });
      await writeMetaFile(store, 'identity', generation, RecordType.identity, record);
      for (const file of unreadableIdentities) await store.delete(file);
    }
    if (secretFiles.secrets.length === 0) {
      await writeMetaFile(store, 'secret', generation, RecordType.timelineSecret, timelineSecret);
      for (const file of secretFiles.unreadable) await store.delete(file);
    }
  };
  return { timelineId, timelineSecret, recovered: only !== undefined, reachedLsn, restore };
}

async function readIdentityRecord(store: ByteStore, file: string): Promise<IdentityRecord | undefined> {
  const record = decodeRecords((await store.read(file)) ?? new Uint8Array(0)).records[0];
  if (record?.type !== RecordType.identity) return undefined;
  return parseIdentity(new TextDecoder().decode(record.payload));
}

/**
 * Records at close that the timeline `timelineId` reached `nextLsn` (invariant 4), with its secret (a
 * copy of it); replaces older ones.
 */
export async function writeReach(
  store: ByteStore,
  identity: { readonly timelineId: string; readonly timelineSecret: string },
  nextLsn: number,
): Promise<void> {
  const files = await store.list();
  const name = await writeMetaFile(
    store,
    'reach',
    nextGeneration(files),
    RecordType.identity,
    encodeIdentity({ version: IDENTITY_VERSION, ...identity, nextLsn }),
  );
  for (const file of files) {
    if (file !== name && parseFileName(file)?.kind === 'reach') await store.delete(file);
  }
}
