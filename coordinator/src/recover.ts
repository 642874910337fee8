// `tandem-coordinator --data <dir> recover <docId> [--accept-loss] [--from-client <dir>]`: an
// operator's way back for a document refused as `storage-corrupt` (its journal holds fewer frames than
// it acknowledged). Run it while no coordinator serves that data folder.
//
// Invariants:
// 1. Nothing is lost without the operator saying so: without `--accept-loss` it only reports (the
//    damage, and what each option would keep), unless a client's pages hold every acknowledged frame.
// 2. The damaged folder is never changed: the recovered journal is written whole in a new folder, then
//    swapped in by two renames; the damaged one stays beside it as `<folder>.damaged-<time>`.
// 3. A history that lost frames gets a new journalId, so every client takes a snapshot and rebases its
//    pending mutations onto it; pages that hold every acknowledged frame keep the old one.
import { randomUUID } from 'node:crypto';
import { cp, mkdtemp, open, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { documentFolder, FsByteStore } from '@tandem/host-node';
import { ClientBase, DocumentJournal, type PageSource, rebuildStore } from '@tandem/runtime';
import { lockDataFolder } from './data-folder.js';

export const RECOVER_USAGE = `usage: tandem-coordinator --data <dir> recover <docId> [--accept-loss] [--from-client <dir>]

  Reports the damage of a document the coordinator refuses (storage-corrupt) and rebuilds its journal.
  Stop the coordinator serving <dir> first.
  --accept-loss        keep what is readable (the coordinator's frames, or a client's pages if they
                       hold more) under a new history; the frames after it are lost
  --from-client <dir>  a synced client's folder for this document (host-node: <client data>/<docId>):
                       its pages are adopted when they go further than the coordinator's readable frames
`;

export interface RecoverOptions {
  readonly dataDir: string;
  readonly docId: string;
  readonly acceptLoss: boolean;
  /** A client's document folder whose base pages may be adopted. */
  readonly fromClient?: string;
}

export interface RecoverReport {
  readonly status: 'whole' | 'refused' | 'recovered';
  /** Frames the coordinator acknowledged (its sync marks). */
  readonly framesExpected: number;
  /** Frames its journal still yields. */
  readonly framesReadable: number;
  /** Frames the recovered journal holds (for `recovered`). */
  readonly framesKept?: number;
  readonly source?: 'coordinator' | 'client';
  readonly journalId?: string;
  /** Where the damaged folder was moved (for `recovered`). */
  readonly damagedFolder?: string;
  /** What an operator reads. */
  readonly message: string;
}

export class RecoverError extends Error {
  override readonly name = 'RecoverError';
}

export async function recoverDocument(options: RecoverOptions): Promise<RecoverReport> {
  // A coordinator serving the folder would go on writing the journal being replaced.
  const lock = await lockDataFolder(options.dataDir);
  try {
    return await recoverUnlocked(options);
  } finally {
    await lock.release();
  }
}

async function recoverUnlocked(options: RecoverOptions): Promise<RecoverReport> {
  const folder = documentFolder(options.dataDir, options.docId);
  if (!(await stat(folder).catch(() => undefined))?.isDirectory()) {
    throw new RecoverError(`no document ${options.docId} in ${options.dataDir} (${folder} is missing)`);
  }
  const files = await FsByteStore.open(folder);
  const inspection = await DocumentJournal.inspect(files).finally(() => files.close());
  const { framesExpected, framesReadable, damage } = inspection;
  const journalId = inspection.recovered.timelineId;
  if (damage === undefined) {
    return {
      status: 'whole',
      framesExpected,
      framesReadable,
      message: `document ${options.docId} is whole: ${framesReadable} frames readable, ${framesExpected} acknowledged; nothing to recover`,
    };
  }

  const client = options.fromClient === undefined ? undefined : await readClient(options.fromClient);
  if (client !== undefined && client.journalId !== journalId) {
    throw new RecoverError(
      `the client's pages come from history ${client.journalId}, not this document's (${journalId})`,
    );
  }
  const clientAhead = client !== undefined && client.cursor > framesReadable;
  const whole = client !== undefined && client.cursor >= framesExpected;
  if (!whole && !options.acceptLoss) {
    const keep = clientAhead ? `the client's ${client.cursor}` : `the ${framesReadable} readable`;
    return {
      status: 'refused',
      framesExpected,
      framesReadable,
      message: `${damage.message}\nNothing was changed. --accept-loss would keep ${keep} frames under a new history (the ${framesExpected - Math.max(framesReadable, client?.cursor ?? 0)} after them are lost)${client === undefined ? '; --from-client <dir> adopts a synced client\u2019s pages if it holds more' : ''}.`,
    };
  }

  const source: PageSource = clientAhead ? client.pages : rebuildStore(inspection.recovered);
  const framesKept = clientAhead ? client.cursor : framesReadable;
  const newJournalId = whole && journalId !== undefined ? journalId : randomUUID();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const rebuilt = `${folder}.recovering-${stamp}`;
  await rm(rebuilt, { recursive: true, force: true });
  const store = await FsByteStore.open(rebuilt);
  try {
    const { journal } = await DocumentJournal.open(store, { timelineId: newJournalId, syncMarks: true });
    await journal.checkpoint(source, framesKept);
  } finally {
    await store.close();
  }
  const damagedFolder = `${folder}.damaged-${stamp}`;
  await rename(folder, damagedFolder);
  await rename(rebuilt, folder);
  await syncFolder(dirname(folder));
  return {
    status: 'recovered',
    framesExpected,
    framesReadable,
    framesKept,
    source: clientAhead ? 'client' : 'coordinator',
    journalId: newJournalId,
    damagedFolder,
    message: `document ${options.docId} recovered from the ${clientAhead ? 'client' : 'coordinator'}'s pages: ${framesKept} of ${framesExpected} acknowledged frames kept${newJournalId === journalId ? ' (same history)' : `, new history ${newJournalId}`}; the damaged files are in ${damagedFolder}`,
  };
}

/** A client's base pages, read from a copy (opening a client's files may tidy them). */
async function readClient(
  dir: string,
): Promise<{ journalId: string | null; cursor: number; pages: PageSource }> {
  if (!(await stat(dir).catch(() => undefined))?.isDirectory()) {
    throw new RecoverError(`--from-client ${dir}: no such folder`);
  }
  const copy = await mkdtemp(join(tmpdir(), 'tandem-recover-client-'));
  try {
    await cp(dir, copy, { recursive: true });
    const files = await FsByteStore.open(copy);
    try {
      const { recovered } = await ClientBase.open(files);
      return { journalId: recovered.journalId, cursor: recovered.cursor, pages: recovered.store };
    } finally {
      await files.close();
    }
  } finally {
    await rm(copy, { recursive: true, force: true });
  }
}

async function syncFolder(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Runs the `recover` subcommand; resolves with the exit code (0 recovered or whole, 1 refused, 2 usage). */
export async function recoverMain(argv: readonly string[]): Promise<number> {
  let values: { data?: string; 'accept-loss'?: boolean; 'from-client'?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      options: {
        data: { type: 'string', default: './data' },
        'accept-loss': { type: 'boolean' },
        'from-client': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: true,
    }));
  } catch (error) {
    process.stderr.write(`tandem-coordinator recover: ${(error as Error).message}\n${RECOVER_USAGE}`);
    return 2;
  }
  if (values.help === true) {
    process.stdout.write(RECOVER_USAGE);
    return 0;
  }
  const [command, docId, ...rest] = positionals;
  if (command !== 'recover' || docId === undefined || rest.length > 0) {
    process.stderr.write(`tandem-coordinator recover: expected one document id\n${RECOVER_USAGE}`);
    return 2;
  }
  try {
    const report = await recoverDocument({
      dataDir: values.data ?? './data',
      docId,
      acceptLoss: values['accept-loss'] === true,
      ...(values['from-client'] !== undefined && { fromClient: values['from-client'] }),
    });
    (report.status === 'refused' ? process.stderr : process.stdout).write(`${report.message}\n`);
    return report.status === 'refused' ? 1 : 0;
  } catch (error) {
    process.stderr.write(`tandem-coordinator recover: ${(error as Error).message}\n`);
    return error instanceof RecoverError ? 1 : 2;
  }
}

/** Whether `argv` asks for the `recover` subcommand (its first positional argument). */
export function isRecoverCommand(argv: readonly string[]): boolean {
  const { positionals } = parseArgs({
    args: [...argv],
    options: { data: { type: 'string' }, 'from-client': { type: 'string' } },
    strict: false,
    allowPositionals: true,
  });
  return positionals[0] === 'recover';
}
