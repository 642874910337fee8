// The coordinator's data folder, checked before it listens: a path that is a file, or a folder the
// process cannot create or write, stops the start with a message naming the path and the cause,
// rather than a coordinator that listens and then fails every client. One coordinator (or `recover`)
// at a time holds a data folder (host-node's folder lock): two writers of one journal would each
// hand out the same frame lsns.
import { randomBytes } from 'node:crypto';
import { mkdir, open, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { type FolderLock, lockFolder } from '@tandem/host-node';
import { TandemError } from '@tandem/runtime';

/** Creates `path` if missing, then proves it writable: a probe file written, synced and deleted. */
export async function checkDataFolder(path: string): Promise<void> {
  const existing = await stat(path).catch(() => undefined);
  if (existing !== undefined && !existing.isDirectory()) {
    throw refused(path, 'it is a file, not a folder');
  }
  try {
    await mkdir(path, { recursive: true });
  } catch (error) {
    throw refused(path, `it cannot be created (${cause(error)})`);
  }
  const probe = join(path, `.tandem-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const file = await open(probe, 'wx');
    try {
      await file.writeFile('probe');
      await file.sync();
    } finally {
      await file.close();
    }
    await unlink(probe);
  } catch (error) {
    await unlink(probe).catch(() => undefined);
    throw refused(path, `it cannot be written (${cause(error)})`);
  }
}

/** Takes the data folder for this process, or refuses with a message naming the process holding it. */
export async function lockDataFolder(path: string): Promise<FolderLock> {
  try {
    return await lockFolder(path);
  } catch (error) {
    if (error instanceof TandemError && error.kind === 'document-locked') {
      const holder =
        error.fields.holderPid === undefined ? 'another process' : `process ${error.fields.holderPid}`;
      throw new TandemError(
        'document-locked',
        `data folder ${path} is in use by ${holder} (another coordinator, or a recover): stop it first`,
        error.fields,
        { cause: error },
      );
    }
    throw error;
  }
}

function refused(path: string, why: string): TandemError {
  return new TandemError('invalid-argument', `data folder ${path}: ${why}`, { reason: 'data-folder' });
}

function cause(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
