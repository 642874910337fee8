// A message that is not one: too large, or not of the protocol's form. Its own module, free of the
// protocol's schemas, so that the storage and page-delta code that raise it load without them.
export type ProtocolErrorKind = 'oversized' | 'malformed';

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly kind: ProtocolErrorKind;
  /**
   * Set for a hello of a protocol before v4 (keyed, not positional): its version, so the coordinator
   * can answer `unsupported-version` in a form that client reads (`encodeKeyedMessage`).
   */
  readonly keyedHelloVersion: number | undefined;
  constructor(kind: ProtocolErrorKind, message: string, keyedHelloVersion?: number) {
    super(message);
    this.kind = kind;
    this.keyedHelloVersion = keyedHelloVersion;
  }
}
