// A document's OPFS folder, opened and locked: the first step of a persisted open, which the owner
// worker's entry starts as soon as it is told to open. It imports nothing but the runtime's errors and
// file names, so the entry (which must stay small: SQLite's load waits for it) stays so.
import { TandemError } from '@tandem/runtime/errors';
import { documentFolderName } from '@tandem/runtime/file-names';

const LOCK_FILE = 'LOCK';

/** A folder and the access handle on its `LOCK` file, held while the folder is in use (OpfsByteStore invariant 4). */
export interface LockedFolder {
  readonly directory: FileSystemDirectoryHandle;
  readonly lock: FileSystemSyncAccessHandle | undefined;
}

/** Whether this context has OPFS with synchronous access handles (a dedicated worker). */
export function syncAccessSupported(): boolean {
  return (
    typeof navigator !== 'undefined' &&
    typeof navigator.storage?.getDirectory === 'function' &&
    typeof FileSystemFileHandle !== 'undefined' &&
    'createSyncAccessHandle' in FileSystemFileHandle.prototype
  );
}

/** `path` (folder names, created when missing) under the origin's OPFS root, with its lock when `lock`. */
export async function openFolder(path: readonly string[], lock: boolean): Promise<LockedFolder> {
  let directory = await navigator.storage.getDirectory();
  for (const name of path) directory = await directory.getDirectoryHandle(name, { create: true });
  return { directory, lock: lock ? await lockFolder(directory, path) : undefined };
}

/** Document `docId`'s folder, locked: an open while another holds it throws `document-locked`. */
export async function openDocumentFolder(docId: string): Promise<LockedFolder> {
  return await openFolder(['tandem', documentFolderName(docId)], true);
}

/** Holds the folder's `LOCK` file open: OPFS lets one access handle at a time have it. */
async function lockFolder(
  directory: FileSystemDirectoryHandle,
  path: readonly string[],
): Promise<FileSystemSyncAccessHandle> {
  const file = await directory.getFileHandle(LOCK_FILE, { create: true });
  try {
    return await file.createSyncAccessHandle();
  } catch (error) {
    if (error instanceof DOMException && error.name === 'NoModificationAllowedError') {
      throw new TandemError(
        'document-locked',
        `the document folder ${path.join('/')} is already open (in another worker or tab of this origin, or in this one)`,
        { file: [...path, LOCK_FILE].join('/') },
        { cause: error },
      );
    }
    throw error;
  }
}
