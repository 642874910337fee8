// Why a SyncClient stopped for good: the failures that no reconnect can cure.
import type { ErrorMessage } from '../protocol/error.js';

/** The coordinator's refusals that retrying cannot cure. */
export const TERMINAL_ERRORS = [
  'unauthorized',
  'timeline-taken',
  'unsupported-version',
  'malformed',
] as const;
type TerminalError = (typeof TERMINAL_ERRORS)[number] & ErrorMessage['kind'];

/**
 * Why syncing stopped for good: the coordinator runs another reducer this client cannot take (not
 * listed, unloadable, the same schema version), or a newer one whose `migrate` fails on this client's
 * overlay (`upgrade-failed`), or refused this client with one of
 * TERMINAL_ERRORS, or expects lsns of this timeline it had already taken (its history was reset), or has
 * taken lsns of this timeline this client's files no longer hold (its timeline lost records); or the
 * document itself failed (its storage, or it was closed) while taking what the coordinator sent; or the
 * client could not be made (its code did not load: sync-attachment.ts).
 */
export type SyncFailureReason =
  | 'reducer-mismatch'
  | 'upgrade-failed'
  | 'history-reset'
  | 'timeline-damaged'
  | 'document-failed'
  | 'client-unavailable'
  | TerminalError;

/** A failure that retrying cannot cure: the client stops and reports it. */
export class SyncFailure extends Error {
  override readonly name = 'SyncFailure';
  readonly reason: SyncFailureReason;

  constructor(reason: SyncFailureReason, message: string) {
    super(message);
    this.reason = reason;
  }
}
