// Journal file names: `<kind>.<lsn>.<generation>.<ext>`, numbers zero-padded so names sort like numbers.
// Every open of a journal takes a generation above all it can see and only ever creates files of that
// generation, so a name is never reused: a writer never appends after a torn tail or into a file a
// crash brought back.

import { TandemError } from '../errors.js';

/**
 * The folder (or OPFS directory) a document's files live in: its id, with every character outside
 * [A-Za-z0-9_-] percent-encoded at a fixed width, so distinct ids never share a folder.
 */
export function documentFolderName(docId: string): string {
  if (docId.length === 0) throw new TandemError('invalid-argument', 'a document id must not be empty');
  return docId.replace(/[^A-Za-z0-9_-]/g, (c) => `%${c.codePointAt(0)!.toString(16).padStart(4, '0')}`);
}

export interface JournalFileName {
  readonly kind: string;
  readonly lsn: number;
  readonly generation: number;
  readonly ext: string;
}

const PATTERN = /^([a-z]+)\.(\d{16})\.(\d{8})\.([a-z]+)$/;

export function formatFileName(name: JournalFileName): string {
  return `${name.kind}.${String(name.lsn).padStart(16, '0')}.${String(name.generation).padStart(8, '0')}.${name.ext}`;
}

export function parseFileName(file: string): JournalFileName | undefined {
  const match = PATTERN.exec(file);
  if (match === null) return undefined;
  return { kind: match[1]!, lsn: Number(match[2]), generation: Number(match[3]), ext: match[4]! };
}

/** A generation above every generation in `files`. */
export function nextGeneration(files: readonly string[]): number {
  let max = 0;
  for (const file of files) max = Math.max(max, parseFileName(file)?.generation ?? 0);
  return max + 1;
}
