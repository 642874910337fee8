// Errors the `tandem` CLI and its API report: a closed set of kinds, each with a message written for
// the reducer's author (what went wrong and what to do).

export type SdkErrorKind =
  /** asc refused the source (type error, syntax error, missing export). */
  | 'compile-failed'
  /** The compiled module needs something a reducer may not have (Date.now, console, an unknown import). */
  | 'forbidden-import'
  /** The module does not fit the world (jco's embed or component step refused it). */
  | 'world-mismatch'
  /** The bytes given to `inspect` are not a Tandem reducer component. */
  | 'not-a-reducer'
  /** A file or folder the command needs is missing or unreadable. */
  | 'bad-input';

export class SdkError extends Error {
  override readonly name = 'SdkError';
  constructor(
    readonly kind: SdkErrorKind,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
