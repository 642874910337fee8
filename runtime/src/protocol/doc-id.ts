// A document id names a folder on every host (storage/file-names.ts `documentFolderName`): an id whose
// folder name does not fit in one file name could be taken on the wire and then fail the document at
// open (ENAMETOOLONG), so it is refused where it arrives.
import { documentFolderName } from '../storage/file-names.js';

/** The longest file name the common file systems (ext4, APFS, NTFS) and OPFS take, in bytes. */
export const MAX_FOLDER_NAME_BYTES = 255;

/** Why `docId` cannot name a document, or undefined when it can (the schema `Id` checked the rest). */
export function docIdProblem(docId: string): string | undefined {
  const length = documentFolderName(docId).length;
  if (length <= MAX_FOLDER_NAME_BYTES) return undefined;
  return `docId: its folder name would be ${length} bytes (at most ${MAX_FOLDER_NAME_BYTES}; characters outside [A-Za-z0-9_-] take 5)`;
}
