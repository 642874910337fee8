// One writer per document folder. Two writers of one client folder read the same timeline id and
// secret and give the same lsn to different mutations: the coordinator takes the first, skips the
// second as a duplicate, and both are reported confirmed. So a folder is locked before anything in it
// is read, and a second open is refused with `document-locked`.
//
// Invariants:
// 1. A folder is held by at most one live lock: the file `LOCK` (not a ByteStore name, so no journal
//    lists it) naming its holder `{pid, start, boot, token}`. It appears whole (written aside, then
//    hard-linked into place, which fails if one exists), so a lock that cannot be parsed is a damaged
//    leftover, never one being written.
// 2. A lock is live while its holder is: its pid exists (`kill(pid, 0)`), is no zombie, and — where
//    /proc says — started when the lock says (a pid reused by a later process, e.g. a restarted
//    container's, does not keep an old lock alive). A lock whose holder is dead is stale and taken
//    over at once: a SIGKILLed process never blocks the next open.
// 3. A stale lock is removed only after renaming it aside and checking it is the one read as stale;
//    a lock taken in between is linked back. (Three opens racing over one stale lock within that
//    instant could still displace a fresh lock: left unguarded.)
//    Files an open killed mid-way left beside the lock (`LOCK.<token>`) are removed by the next holder.
// 4. In one thread a folder is held at most once (a registry, reserved before any file is touched);
//    threads and processes meet at the lock file. Release removes the lock only while it is still this
//    holder's.
import { randomBytes } from 'node:crypto';
import { link, readdir, readFile, realpath, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TandemError } from '@tandem/runtime/local';

const LOCK_FILE = 'LOCK';
/** Files beside the lock while it is written or removed (neither a ByteStore name). */
const ASIDE_PREFIX = `${LOCK_FILE}.`;
const STALE_SUFFIX = '.stale';

/** Opens racing over stale locks retry this many times before giving up loudly. */
const ATTEMPTS = 10;

export interface FolderLock {
  readonly folder: string;
  /** Removes the lock (if it is still this holder's); later calls do nothing. */
  release(): Promise<void>;
}

interface Holder {
  readonly pid: number;
  /** The process's start (from /proc: clock ticks since boot), when the platform says it. */
  readonly start?: string;
  /** The boot the start counts from. */
  readonly boot?: string;
  readonly token: string;
}

/** The folders this thread holds, by real path. */
const held = new Set<string>();

/** Locks `folder` (which exists) for this process, or throws `document-locked`. */
export async function lockFolder(folder: string): Promise<FolderLock> {
  const real = await realpath(folder);
  const lockPath = join(real, LOCK_FILE);
  if (held.has(real)) {
    throw new TandemError('document-locked', `the document folder ${real} is already open in this process`, {
      file: lockPath,
      holderPid: process.pid,
    });
  }
  held.add(real);
  try {
    const me: Holder = { pid: process.pid, ...(await processStart(process.pid)), token: randomToken() };
    const mine = JSON.stringify(me);
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (await create(real, lockPath, mine)) {
        await removeLeftovers(real);
        return heldLock(real, lockPath, mine);
      }
      const found = await readLock(lockPath);
      if (found === undefined) continue;
      const holder = parseHolder(found);
      if (holder !== undefined && (await isLive(holder))) {
        const where =
          holder.pid === process.pid ? 'in this process (another thread)' : `by process ${holder.pid}`;
        throw new TandemError('document-locked', `the document folder ${real} is already open ${where}`, {
          file: lockPath,
          holderPid: holder.pid,
        });
      }
      await removeStale(real, lockPath, found);
    }
    throw new TandemError(
      'document-locked',
      `the document folder ${real}: gave up taking its lock after ${ATTEMPTS} attempts (other opens racing for it)`,
      { file: lockPath },
    );
  } catch (error) {
    held.delete(real);
    throw error;
  }
}

function heldLock(folder: string, lockPath: string, mine: string): FolderLock {
  let released: Promise<void> | undefined;
  return {
    folder,
    release() {
      released ??= (async () => {
        try {
          if ((await readLock(lockPath)) === mine) await unlinkIfThere(lockPath);
        } finally {
          held.delete(folder);
        }
      })();
      return released;
    },
  };
}

/** Puts `content` in place as the lock, unless a lock exists (or another open cleared it away). */
async function create(folder: string, lockPath: string, content: string): Promise<boolean> {
  const aside = join(folder, `${ASIDE_PREFIX}${randomToken()}`);
  await writeFile(aside, content, { flag: 'wx' });
  try {
    await link(aside, lockPath);
    return true;
  } catch (error) {
    if (code(error) === 'EEXIST' || code(error) === 'ENOENT') return false;
    throw error;
  } finally {
    await unlinkIfThere(aside);
  }
}

/**
 * Removes what opens killed while creating the lock left: the holder may, since an open still creating
 * one only loses its attempt (its link fails, it looks again and finds this lock).
 */
async function removeLeftovers(folder: string): Promise<void> {
  for (const name of await readdir(folder)) {
    if (name.startsWith(ASIDE_PREFIX) && !name.endsWith(STALE_SUFFIX))
      await unlinkIfThere(join(folder, name));
  }
}

async function removeStale(folder: string, lockPath: string, stale: string): Promise<void> {
  const aside = join(folder, `${ASIDE_PREFIX}${randomToken()}${STALE_SUFFIX}`);
  try {
    await rename(lockPath, aside);
  } catch (error) {
    if (code(error) === 'ENOENT') return;
    throw error;
  }
  try {
    if ((await readLock(aside)) === stale) return;
    // Another open took the lock between our read and the rename: give it back.
    await link(aside, lockPath).catch((error: unknown) => {
      if (code(error) !== 'EEXIST') throw error;
    });
  } finally {
    await unlinkIfThere(aside);
  }
}

async function readLock(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (code(error) === 'ENOENT') return undefined;
    throw error;
  }
}

function parseHolder(text: string): Holder | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { pid, start, boot, token } = value as Record<string, unknown>;
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) return undefined;
  if (typeof token !== 'string') return undefined;
  return {
    pid,
    token,
    ...(typeof start === 'string' && { start }),
    ...(typeof boot === 'string' && { boot }),
  };
}

async function isLive(holder: Holder): Promise<boolean> {
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    // EPERM: it exists, under another user.
    if (code(error) === 'ESRCH') return false;
  }
  const now = await procStat(holder.pid);
  if (now === undefined) return true;
  if (now.state === 'Z' || now.state === 'X') return false;
  if (holder.start === undefined) return true;
  return holder.start === now.start && holder.boot === (await bootId());
}

/** What /proc says of `pid`'s start, or nothing where there is no /proc. */
async function processStart(pid: number): Promise<{ start?: string; boot?: string }> {
  const stat = await procStat(pid);
  const boot = await bootId();
  return stat === undefined || boot === undefined ? {} : { start: stat.start, boot };
}

/** `pid`'s state and start time (clock ticks since boot) from /proc/<pid>/stat (fields 3 and 22). */
async function procStat(pid: number): Promise<{ state: string; start: string } | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold anything: count from the last one.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const start = fields[19];
  return state === undefined || start === undefined ? undefined : { state, start };
}

let boot: Promise<string | undefined> | undefined;
function bootId(): Promise<string | undefined> {
  boot ??= readFile('/proc/sys/kernel/random/boot_id', 'utf8').then(
    (text) => text.trim(),
    () => undefined,
  );
  return boot;
}

async function unlinkIfThere(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if (code(error) !== 'ENOENT') throw error;
  }
}

function randomToken(): string {
  return randomBytes(8).toString('hex');
}

function code(error: unknown): string | undefined {
  return error instanceof Error ? (error as NodeJS.ErrnoException).code : undefined;
}
