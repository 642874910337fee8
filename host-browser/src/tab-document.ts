// openDocument in a tab: the document lives in its owner (see README); this tab holds a TandemDocument.
import { TandemError } from '@tandem/runtime';
import type { OpenDocumentOptions, TandemDocument } from './tab-api.js';

export async function openDocument(options: OpenDocumentOptions): Promise<TandemDocument> {
  throw new TandemError('invalid-argument', `openDocument(${options.docId}) in a tab is being built`);
}
