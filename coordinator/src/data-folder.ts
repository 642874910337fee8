// The coordinator's data folder, checked before it listens: a path that is a file, or a folder the
// process cannot create or write, stops the start with a message naming the path and the cause,
// rather than a coordinator that listens and then fails every client.
import { randomBytes } from 'node:crypto';
import { mkdir, open, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
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

function refused(path: string, why: string): TandemError {
  return new TandemError('invalid-argument', `data folder ${path}: ${why}`, { reason: 'data-folder' });
}

function cause(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
